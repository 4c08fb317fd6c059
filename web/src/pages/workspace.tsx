/** A new workspace, and a workspace's members and their roles. */
import { useState } from "preact/hooks";
import { api, get, post } from "../api.ts";
import { items, Member, Workspace } from "../contracts.ts";
import { navigate } from "../router.ts";
import { ErrorNote, Page, Time, useAction, useAsync } from "../ui.tsx";

const ROLES = ["owner", "admin", "developer", "viewer"] as const;

export function NewWorkspacePage({ onCreated }: { onCreated(): Promise<void> }) {
  const [name, setName] = useState("");
  const [run, busy, error] = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const ws = await post("/v1/workspaces", { name }, Workspace);
      await onCreated();
      navigate(`/w/${ws.id}/projects`);
    });
  };
  return (
    <Page title="New workspace">
      <form class="card stack" onSubmit={submit}>
        <label for="ws-name">Workspace name</label>
        <input id="ws-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <ErrorNote error={error} />
        <button class="primary" type="submit" disabled={busy}>
          Create workspace
        </button>
      </form>
    </Page>
  );
}

export function MembersPage({ workspaceId, canManage }: { workspaceId: string; canManage: boolean }) {
  const members = useAsync(() => get(`/v1/workspaces/${workspaceId}/members`, items(Member)), [workspaceId]);
  const [run, busy, error] = useAction();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<(typeof ROLES)[number]>("developer");
  const base = `/v1/workspaces/${workspaceId}/members`;
  const add = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await post(base, { email, role }, Member);
      setEmail("");
      members.reload();
    });
  };
  return (
    <Page title="Members">
      <ErrorNote error={members.error ?? error} />
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Members of this workspace</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.data?.items.map((m) => (
              <tr key={m.userId}>
                <td>{m.name ?? "—"}</td>
                <td>{m.email}</td>
                <td>
                  {canManage ? (
                    <select
                      aria-label={`Role of ${m.email}`}
                      value={m.role}
                      disabled={busy}
                      onChange={(e) =>
                        void run(async () => {
                          await api("PATCH", `${base}/${m.userId}`, Member, { role: e.currentTarget.value });
                          members.reload();
                        })
                      }
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td>
                  <Time at={m.joinedAt} />
                </td>
                <td>
                  {canManage && (
                    <button
                      type="button"
                      class="danger"
                      disabled={busy}
                      onClick={() =>
                        confirm(`Remove ${m.email} from this workspace?`) &&
                        void run(async () => {
                          await api("DELETE", `${base}/${m.userId}`);
                          members.reload();
                        })
                      }
                    >
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {canManage && (
        <form class="card row-form" onSubmit={add}>
          <h2>Add a member</h2>
          <label for="m-email">Email of an existing account</label>
          <input id="m-email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          <label for="m-role">Role</label>
          <select id="m-role" value={role} onChange={(e) => setRole(e.currentTarget.value as (typeof ROLES)[number])}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button class="primary" type="submit" disabled={busy}>
            Add member
          </button>
        </form>
      )}
    </Page>
  );
}
