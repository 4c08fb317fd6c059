/**
 * Deployments (contract: core/contracts/deployments.ts): a project's list, and one deployment
 * with its stages, health checks and traffic, live over GET /v1/deployments/:id/events, with
 * approve, cancel and rollback.
 */
import { useEffect, useState } from "preact/hooks";
import { get, post, socketUrl } from "../api.ts";
import { Deployment, DeploymentSocketMessage, DeploymentSummary, page, type DeploymentView } from "../contracts.ts";
import { ErrorNote, FINISHED, Page, Status, Time, useAction, useAsync } from "../ui.tsx";

export function DeploymentsPage({ projectId }: { projectId: string }) {
  const list = useAsync(() => get(`/v1/projects/${projectId}/deployments?limit=50`, page(DeploymentSummary)), [projectId], {
    pollMs: 3000,
    poll: (d) => d.items.some((x) => !FINISHED.has(x.status)),
  });
  return (
    <Page title="Deployments" actions={<a class="button" href={`/projects/${projectId}`}>Project</a>}>
      <ErrorNote error={list.error} />
      {list.data?.items.length === 0 && <p>No deployments yet: a green build of a project with deploy stages starts one.</p>}
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Deployment</th><th scope="col">Status</th><th scope="col">Branch</th><th scope="col">Trigger</th><th scope="col">Created</th></tr></thead>
          <tbody>
            {list.data?.items.map((d) => (
              <tr key={d.id}>
                <td><a href={`/deployments/${d.id}`} class="mono">{d.id.slice(0, 8)}</a></td>
                <td><Status status={d.status} />{d.reason && <span class="muted"> {d.reason}</span>}</td>
                <td>{d.branch} <span class="mono muted">{d.commitSha?.slice(0, 8)}</span></td>
                <td>{d.trigger}</td>
                <td><Time at={d.createdAt} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>
  );
}

export function DeploymentPage({ deploymentId }: { deploymentId: string }) {
  const loaded = useAsync(() => get(`/v1/deployments/${deploymentId}`, Deployment), [deploymentId]);
  const [live, setLive] = useState<DeploymentView | null>(null);
  const [run, busy, error] = useAction();

  useEffect(() => {
    let ws: WebSocket | null = null;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const open = (attempt: number) => {
      ws = new WebSocket(socketUrl(`/v1/deployments/${deploymentId}/events`));
      ws.onmessage = (e) => {
        try {
          setLive(DeploymentSocketMessage(JSON.parse(String(e.data)), "event").deployment);
        } catch (err) {
          console.warn("deployment event ignored:", err);
        }
      };
      ws.onclose = () => {
        if (!stopped) timer = setTimeout(() => open(attempt + 1), Math.min(5000, 500 * 2 ** attempt));
      };
    };
    open(0);
    return () => ((stopped = true), clearTimeout(timer), ws?.close());
  }, [deploymentId]);

  const d = live ?? loaded.data;
  const act = (what: "approve" | "cancel" | "rollback") =>
    void run(async () => setLive(await post(`/v1/deployments/${deploymentId}/${what}`, {}, Deployment)));
  const waitingApproval = d?.status === "awaiting_approval" || d?.stages.some((s) => s.approval && s.status === "waiting");
  return (
    <Page
      title={d ? `Deployment ${d.id.slice(0, 8)}` : "Deployment"}
      actions={
        d && (
          <>
            <a class="button" href={`/projects/${d.projectId}/deployments`}>All deployments</a>
            {waitingApproval && <button type="button" class="primary" disabled={busy} onClick={() => act("approve")}>Approve</button>}
            {!FINISHED.has(d.status) && <button type="button" class="danger" disabled={busy} onClick={() => act("cancel")}>Cancel</button>}
            <button type="button" class="danger" disabled={busy} onClick={() => confirm("Roll back to each stage's last healthy deployment?") && act("rollback")}>Roll back</button>
          </>
        )
      }
    >
      <ErrorNote error={loaded.error ?? error} />
      {d && (
        <>
          <p class="summary" aria-live="polite">
            <span id="deployment-status"><Status status={d.status} /></span> · {d.branch} · build <a href={`/builds/${d.buildId}`}>{d.buildId.slice(0, 8)}</a> · {d.trigger} · <Time at={d.createdAt} />
          </p>
          {d.reason && <p class="error">{d.reason}</p>}
          <ol class="stages">
            {d.stages.map((s) => (
              <li key={s.id} class="card">
                <h2><Status status={s.status} /> {s.name}</h2>
                <p>{s.platform} · {s.strategy} · traffic {s.trafficPercent}%{s.approval ? " · needs approval" : ""}</p>
                <p>health: {s.passes} passing, {s.failures} failing checks in a row</p>
                <div class="meter" role="meter" aria-label={`traffic on the new version in ${s.name}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={s.trafficPercent}><span style={{ width: `${s.trafficPercent}%` }} /></div>
                {s.url && <p><a href={s.url} target="_blank" rel="noopener">{s.url}</a></p>}
              </li>
            ))}
          </ol>
          <h2>Events</h2>
          <ol class="plain events">
            {[...d.events].reverse().map((e) => <li key={e.seq}><Time at={e.at} /> <strong>{e.type}</strong>{e.stage && ` (${e.stage})`}: {e.message}</li>)}
          </ol>
        </>
      )}
    </Page>
  );
}
