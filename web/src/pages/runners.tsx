/** The workspace's runners with their state, and registration tokens for more. */
import { useState } from "preact/hooks";
import { api, get, post } from "../api.ts";
import { items, Runner, Workspace } from "../contracts.ts";
import { obj, str } from "../check.ts";
import { ErrorNote, Page, Time, useAction, useAsync } from "../ui.tsx";

/** A runner that has not been heard from in 90 s (heartbeats and claims are far more often) is offline. */
function state(lastSeenAt: string | null): "online" | "offline" | "never seen" {
  if (!lastSeenAt) return "never seen";
  return Date.now() - Date.parse(lastSeenAt) < 90_000 ? "online" : "offline";
}

const POLICIES = {
  never: "Never: only this workspace's own runners run its jobs",
  "no-secrets": "Only builds of projects without secrets (default)",
  always: "Always, secrets included",
} as const;

/** Which of the workspace's jobs the instance's shared runners may take (owners and admins set it). */
function SharedRunnersSetting({ workspaceId, canManage }: { workspaceId: string; canManage: boolean }) {
  const workspace = useAsync(() => get(`/v1/workspaces/${workspaceId}`, Workspace), [workspaceId]);
  const [run, busy, error] = useAction();
  const policy = workspace.data?.sharedRunners;
  if (!policy) return null;
  return (
    <div class="card stack">
      <label for="shared-runners">Shared runners may run</label>
      {canManage ? (
        <select
          id="shared-runners"
          value={policy}
          disabled={busy}
          onChange={(e) =>
            void run(async () => {
              await api("PATCH", `/v1/workspaces/${workspaceId}`, Workspace, { sharedRunners: e.currentTarget.value });
              workspace.reload();
            })
          }
        >
          {Object.entries(POLICIES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      ) : (
        <p id="shared-runners">{POLICIES[policy]}</p>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

export function RunnersPage({ workspaceId, canManage }: { workspaceId: string; canManage: boolean }) {
  const runners = useAsync(() => get(`/v1/workspaces/${workspaceId}/runners`, items(Runner)), [workspaceId], { pollMs: 10_000 });
  const [name, setName] = useState("");
  const [token, setToken] = useState<string | null>(null);
  const [run, busy, error] = useAction();
  const create = (e: Event) => {
    e.preventDefault();
    void run(async () => setToken((await post(`/v1/workspaces/${workspaceId}/runner-tokens`, { name }, obj({ token: str }))).token));
  };
  return (
    <Page title="Runners">
      <ErrorNote error={runners.error ?? error} />
      <SharedRunnersSetting workspaceId={workspaceId} canManage={canManage} />
      {runners.data?.items.length === 0 && (
        <p>No runners of this workspace's own yet; builds run on the shared pool if the instance has one and the setting above allows it.</p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Labels</th>
              <th scope="col">Version</th>
              <th scope="col">Last seen</th>
              {canManage && (
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {runners.data?.items.map((r) => {
              const s = state(r.lastSeenAt);
              return (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td>
                    <span class={`status s-${s === "online" ? "succeeded" : "cancelled"}`}>{s}</span>
                  </td>
                  <td>{r.labels.join(", ")}</td>
                  <td>{r.version}</td>
                  <td>
                    <Time at={r.lastSeenAt} />
                  </td>
                  {canManage && (
                    <td>
                      {/* Revoking is at once: the token stops and the jobs it holds are requeued. */}
                      <button
                        type="button"
                        class="danger"
                        disabled={busy}
                        onClick={() =>
                          confirm(`Revoke the runner ${r.name}? Its token stops working now and the jobs it holds go back to the queue.`) &&
                          void run(async () => {
                            await api("DELETE", `/v1/workspaces/${workspaceId}/runners/${r.id}`);
                            runners.reload();
                          })
                        }
                      >
                        Revoke
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {canManage && (
        <form class="card row-form" onSubmit={create}>
          <h2>Register a runner</h2>
          <label for="rt-name">Token name</label>
          <input id="rt-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit" disabled={busy}>
            Create registration token
          </button>
          {token && (
            <p class="wrap">
              Shown once:{" "}
              <code>
                npx sparki-runner register --url {location.origin} --token {token} --name box-1
              </code>
            </p>
          )}
        </form>
      )}
    </Page>
  );
}
