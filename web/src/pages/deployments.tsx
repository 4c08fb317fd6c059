/**
 * Deployments (contract: core/contracts/deployments.ts): a project's list, and one deployment
 * with its stages, health checks and traffic, live over GET /v1/deployments/:id/events, with
 * approve, cancel and rollback.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { get, post, socketUrl } from "../api.ts";
import { Deployment, DeploymentSocketMessage, DeploymentSummary, page, type DeploymentView } from "../contracts.ts";
import { ErrorNote, FINISHED, messageOf, Page, Status, Time, useAction, useAsync } from "../ui.tsx";

export function DeploymentsPage({ projectId }: { projectId: string }) {
  // Polled: a green build starts a deployment by itself, and those running move on.
  const list = useAsync(() => get(`/v1/projects/${projectId}/deployments?limit=50`, page(DeploymentSummary)), [projectId], { pollMs: 3000 });
  return (
    <Page
      title="Deployments"
      actions={
        <a class="button" href={`/projects/${projectId}`}>
          Project
        </a>
      }
    >
      <ErrorNote error={list.error} />
      {list.data?.items.length === 0 && <p>No deployments yet: a green build of a project with deploy stages starts one.</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Deployment</th>
              <th scope="col">Status</th>
              <th scope="col">Branch</th>
              <th scope="col">Trigger</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={`/deployments/${d.id}`} class="mono">
                    {d.id.slice(0, 8)}
                  </a>
                </td>
                <td>
                  <Status status={d.status} />
                  {d.reason && <span class="muted"> {d.reason}</span>}
                </td>
                <td>
                  {d.branch} <span class="mono muted">{d.commitSha?.slice(0, 8)}</span>
                </td>
                <td>{d.trigger}</td>
                <td>
                  <Time at={d.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>
  );
}

export function DeploymentPage({ deploymentId }: { deploymentId: string }) {
  const [d, setD] = useState<DeploymentView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [socket, setSocket] = useState<"connecting" | "open" | "reconnecting">("connecting");
  const [run, busy, error] = useAction();
  // Answers arrive from the socket, the first GET, polls and actions in any order: keep the newest.
  const latest = useRef<DeploymentView | null>(null);
  const take = (next: DeploymentView) => {
    if (latest.current && latest.current.id === next.id && lastSeq(latest.current) > lastSeq(next)) return;
    setD((latest.current = next));
  };

  useEffect(() => {
    setD((latest.current = null));
    let ws: WebSocket | null = null;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let poller: ReturnType<typeof setTimeout> | undefined;
    const open = (attempt: number) => {
      ws = new WebSocket(socketUrl(`/v1/deployments/${deploymentId}/events`));
      ws.onopen = () => ((attempt = 0), setSocket("open"));
      ws.onmessage = (e) => {
        try {
          take(DeploymentSocketMessage(JSON.parse(String(e.data)), "event").deployment);
        } catch (err) {
          console.warn("deployment event ignored:", err);
        }
      };
      ws.onclose = () => {
        if (stopped) return;
        setSocket("reconnecting");
        timer = setTimeout(() => open(attempt + 1), Math.min(5000, 500 * 2 ** attempt));
      };
    };
    // The first answer, then again every 2 s while the socket is down (refused, or cut by a
    // proxy) and the deployment still moves.
    const load = () =>
      get(`/v1/deployments/${deploymentId}`, Deployment).then(
        (x) => (take(x), setLoadError(null)),
        (err: unknown) => setLoadError(messageOf(err)),
      );
    const tick = async () => {
      const cur = latest.current;
      if (!cur || (ws?.readyState !== WebSocket.OPEN && !FINISHED.has(cur.status))) await load();
      if (!stopped) poller = setTimeout(() => void tick(), 2000);
    };
    open(0);
    void tick();
    return () => ((stopped = true), clearTimeout(timer), clearTimeout(poller), ws?.close());
  }, [deploymentId]);

  const act = (what: "approve" | "cancel" | "rollback") => void run(async () => take(await post(`/v1/deployments/${deploymentId}/${what}`, {}, Deployment)));
  const status = d?.status;
  // What the API accepts (core/deploy/machine.ts): approve while a stage waits for it; cancel
  // until it ends; roll back a deployment that made a stage live.
  const canRollBack =
    (status === "succeeded" || status === "verifying" || status === "awaiting_approval") &&
    d?.stages.some((s) => s.status === "healthy" || s.status === "verifying");
  return (
    <Page
      title={d ? `Deployment ${d.id.slice(0, 8)}` : "Deployment"}
      actions={
        d && (
          <>
            <a class="button" href={`/projects/${d.projectId}/deployments`}>
              All deployments
            </a>
            {status === "awaiting_approval" && (
              <button type="button" class="primary" disabled={busy} onClick={() => act("approve")}>
                Approve
              </button>
            )}
            {!FINISHED.has(d.status) && status !== "rolling_back" && (
              <button type="button" class="danger" disabled={busy} onClick={() => act("cancel")}>
                Cancel
              </button>
            )}
            {canRollBack && (
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() => confirm("Roll back to each stage's last healthy deployment?") && act("rollback")}
              >
                Roll back
              </button>
            )}
          </>
        )
      }
    >
      <ErrorNote error={error ?? (d ? null : loadError)} />
      {d && (
        <>
          <p class="summary" aria-live="polite">
            <span id="deployment-status">
              <Status status={d.status} />
            </span>{" "}
            · {d.branch} <span class="mono">{d.commitSha?.slice(0, 8)}</span> · build <a href={`/builds/${d.buildId}`}>{d.buildId.slice(0, 8)}</a> · {d.trigger}{" "}
            · <Time at={d.createdAt} />
            {socket === "reconnecting" && !FINISHED.has(d.status) && (
              <>
                {" "}
                · <span class="warn">live updates reconnecting…</span>
              </>
            )}
          </p>
          {d.reason && <p class={d.status === "succeeded" ? "muted" : "error"}>{d.reason}</p>}
          <ol class="stages">
            {d.stages.map((s) => (
              <li key={s.name} class="card" data-stage={s.name}>
                <h2>
                  <Status status={s.status} /> {s.name}
                </h2>
                <p>
                  {s.platform} · {s.strategy} · traffic {s.trafficPercent}%
                </p>
                {s.approvedBy || s.approvedAt ? (
                  <p class="approval wrap">
                    {/* No approver with a time: their account was deleted since. */}
                    approved by {s.approvedBy?.email ?? "a deleted user"}
                    {s.approvedAt && (
                      <>
                        {" "}
                        <Time at={s.approvedAt} />
                      </>
                    )}
                  </p>
                ) : (
                  s.approval && <p class="approval">needs approval by {s.approverRoles.join(" or ")}</p>
                )}
                <p class="health">
                  health: {s.passes} passing, {s.failures} failing checks in a row
                </p>
                <div
                  class="meter"
                  role="meter"
                  aria-label={`traffic on the new version in ${s.name}`}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={s.trafficPercent}
                >
                  <span style={{ width: `${s.trafficPercent}%` }} />
                </div>
                {s.url && (
                  <p>
                    <a href={s.url} target="_blank" rel="noopener">
                      {s.url}
                    </a>
                  </p>
                )}
              </li>
            ))}
          </ol>
          <h2>Events</h2>
          <ol class="plain events">
            {[...d.events].reverse().map((e) => (
              <li key={e.seq}>
                <Time at={e.at} /> <strong>{e.type}</strong>
                {e.stage && ` (${e.stage})`}: {e.message}
              </li>
            ))}
          </ol>
        </>
      )}
    </Page>
  );
}

/** The newest event a view includes: views with more events are newer. */
function lastSeq(d: DeploymentView): number {
  return d.events.at(-1)?.seq ?? 0;
}
