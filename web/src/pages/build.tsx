/** A build: its jobs and steps (live), the live log, artifacts, cancel and retry. */
import { useLayoutEffect, useMemo, useState } from "preact/hooks";
import { get, post } from "../api.ts";
import { Artifact, Build, Deployment, items, type Out } from "../contracts.ts";
import { navigate } from "../router.ts";
import { LogStream } from "../log/stream.ts";
import { LogStore } from "../log/store.ts";
import { LogViewer, useBatchedLines } from "../log/LogViewer.tsx";
import { afterLog, logShown } from "../priority.ts";
import { duration, ErrorNote, FINISHED, Page, Status, Time, useAction, useAsync } from "../ui.tsx";

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function BuildPage({ buildId }: { buildId: string }) {
  const store = useMemo(() => new LogStore(), [buildId]);
  const [version, addLines] = useBatchedLines(store);
  const [live, setLive] = useState<{ status: string | null; socket: string }>({ status: null, socket: "connecting" });
  const build = useAsync(() => afterLog().then(() => get(`/v1/builds/${buildId}`, Build)), [buildId, live.status], {
    pollMs: 1500,
    poll: (b) => !FINISHED.has(b.status),
  });
  const [jumpTo, setJumpTo] = useState<{ jobId: string; step: string; at: number } | null>(null);
  const [run, busy, error] = useAction();

  // A layout effect runs as soon as the page is mounted (an effect waits for a paint): the
  // socket opens a frame sooner.
  useLayoutEffect(() => {
    const stream = new LogStream(
      buildId,
      {
        lines: addLines,
        status: (status) => {
          setLive((l) => ({ ...l, status }));
          // The backlog comes before the first status frame: an empty log is shown now too.
          logShown();
        },
        state: (socket) => setLive((l) => ({ ...l, socket })),
      },
      () => store.lastSeq,
    );
    stream.open();
    return () => stream.close();
  }, [buildId]);

  const b = build.data;
  const status = live.status ?? b?.status ?? "queued";
  const finished = FINISHED.has(status);
  const labels = useMemo(() => {
    const m = new Map<string, string>();
    for (const job of b?.jobs ?? []) for (const s of job.steps) m.set(`${job.id}\u0000${s.id}`, `${job.name} › ${s.name}`);
    return m;
  }, [b]);

  return (
    <Page
      title={b ? `Build #${b.number}` : "Build"}
      actions={
        <>
          {b && (
            <a class="button" href={`/projects/${b.projectId}`}>
              Project
            </a>
          )}
          {!finished && (
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() => void run(() => post(`/v1/builds/${buildId}/cancel`, undefined, Build).then(build.reload))}
            >
              Cancel
            </button>
          )}
          {status === "succeeded" && (
            <button
              type="button"
              class="primary"
              disabled={busy}
              onClick={() => void run(async () => navigate(`/deployments/${(await post(`/v1/builds/${buildId}/deploy`, {}, Deployment)).id}`))}
            >
              Deploy
            </button>
          )}
          {finished && status !== "succeeded" && (
            <button type="button" disabled={busy} onClick={() => void run(() => post(`/v1/builds/${buildId}/retry`, undefined, Build).then(build.reload))}>
              Retry failed jobs
            </button>
          )}
        </>
      }
    >
      <ErrorNote error={build.error ?? error} />
      <p class="summary" aria-live="polite">
        <span id="build-status">
          <Status status={status} />
        </span>
        {b && (
          <>
            {" "}
            · {b.tag ? `tag ${b.tag}` : b.branch} · <span class="mono">{b.commitSha?.slice(0, 12) ?? "commit pending"}</span> ·{" "}
            {/* Until a job starts there is no start to show: say when it was queued. */}
            {b.startedAt ? "started" : "queued"} <Time at={b.startedAt ?? b.queuedAt} /> · {duration(b.startedAt, b.completedAt)}
          </>
        )}
        {live.socket === "reconnecting" && (
          <>
            {" "}
            · <span class="warn">log reconnecting…</span>
          </>
        )}
      </p>
      {b?.error && <p class="error">{b.error}</p>}
      {b && <Jobs jobs={b.jobs} onStep={(jobId, step) => setJumpTo({ jobId, step, at: Date.now() })} />}
      <LogViewer
        buildId={buildId}
        buildNumber={b?.number ?? 0}
        store={store}
        version={version}
        jumpTo={jumpTo}
        stepLabel={(jobId, step) => labels.get(`${jobId}\u0000${step}`) ?? `${jobId} › ${step}`}
      />
      <Artifacts buildId={buildId} finished={finished} />
    </Page>
  );
}

function Jobs({ jobs, onStep }: { jobs: Out<typeof Build>["jobs"]; onStep(jobId: string, step: string): void }) {
  return (
    <ol class="jobs">
      {jobs.map((job) => (
        <li key={job.id} class="card">
          <h2 class="job-h">
            <Status status={job.status} /> {job.name}{" "}
            <span class="muted">
              {job.kind === "plan" && job.name !== "plan" ? "plan " : ""}
              {job.attempt > 1 ? `attempt ${job.attempt}` : ""} {duration(job.startedAt, job.completedAt)}
            </span>
          </h2>
          {job.waiting && <p class="warn job-waiting">Waiting: {job.waiting.reason}</p>}
          <ol class="steps">
            {job.steps.map((s) => (
              <li key={s.id}>
                <button type="button" class="link" onClick={() => onStep(job.id, s.id)} aria-label={`Show the log of ${s.name}`}>
                  <Status status={s.status} /> {s.name}
                </button>{" "}
                <span class="muted">
                  {s.exitCode !== null && s.exitCode !== 0 ? `exit ${s.exitCode} · ` : ""}
                  {duration(s.startedAt, s.finishedAt)}
                </span>
              </li>
            ))}
          </ol>
        </li>
      ))}
    </ol>
  );
}

function Artifacts({ buildId, finished }: { buildId: string; finished: boolean }) {
  const list = useAsync(() => afterLog().then(() => get(`/v1/builds/${buildId}/artifacts`, items(Artifact))), [buildId, finished]);
  return (
    <section aria-labelledby="artifacts-h">
      <h2 id="artifacts-h">Artifacts</h2>
      <ErrorNote error={list.error} />
      {list.data?.items.length === 0 && <p class="muted">{finished ? "This build kept no artifacts." : "Artifacts appear when their job finishes."}</p>}
      <ul class="plain">
        {list.data?.items.map((a) => (
          <li key={a.name}>
            <a href={`/v1/builds/${buildId}/artifacts/${encodeURIComponent(a.name)}`} download>
              {a.name}
            </a>{" "}
            <span class="muted">
              {size(a.size)} · <Time at={a.uploadedAt} />
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
