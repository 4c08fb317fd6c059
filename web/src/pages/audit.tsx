/** The workspace's audit log, newest first, a page at a time. */
import { useState } from "preact/hooks";
import { get } from "../api.ts";
import { AuditLogEntry, page, type Out } from "../contracts.ts";
import { ErrorNote, Page, Time, useAction, useAsync } from "../ui.tsx";

type Entry = Out<typeof AuditLogEntry>;

export function AuditPage({ workspaceId }: { workspaceId: string }) {
  const first = useAsync(() => get(`/v1/workspaces/${workspaceId}/audit-logs?limit=50`, page(AuditLogEntry)), [workspaceId]);
  const [more, setMore] = useState<{ items: Entry[]; cursor: string | null } | null>(null);
  const [run, busy, error] = useAction();
  const entries = [...(first.data?.items ?? []), ...(more?.items ?? [])];
  const cursor = more ? more.cursor : (first.data?.nextCursor ?? null);
  const loadMore = () =>
    void run(async () => {
      if (!cursor) return;
      const next = await get(`/v1/workspaces/${workspaceId}/audit-logs?limit=50&cursor=${encodeURIComponent(cursor)}`, page(AuditLogEntry));
      setMore({ items: [...(more?.items ?? []), ...next.items], cursor: next.nextCursor });
    });
  return (
    <Page title="Audit log">
      <ErrorNote error={first.error ?? error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Result</th>
              <th scope="col">Resource</th>
              <th scope="col">User</th>
              <th scope="col">IP</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time at={e.createdAt} />
                </td>
                <td>{e.action}</td>
                <td>
                  <span class={`status s-${e.result === "success" ? "succeeded" : "failed"}`}>{e.result}</span>
                </td>
                <td class="mono">{e.resourceType ? `${e.resourceType} ${e.resourceId?.slice(0, 8) ?? ""}` : "—"}</td>
                <td class="mono">{e.userId?.slice(0, 8) ?? "—"}</td>
                <td>{e.ip ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cursor && (
        <button type="button" disabled={busy} onClick={loadMore}>
          Load older entries
        </button>
      )}
    </Page>
  );
}
