/** One project: its builds (live), pipeline and versions, detection with evidence, deployment rules, secrets. */
import { useState } from "preact/hooks";
import { api, get, post } from "../api.ts";
import { BuildSummary, items, page, PipelineVersion, PipelineVersionSummary, Project, SecretInfo } from "../contracts.ts";
import { navigate } from "../router.ts";
import { duration, ErrorNote, FINISHED, Page, Status, Time, useAction, useAsync } from "../ui.tsx";
import { Detection, DetectionCard } from "./detection.tsx";
import { Notifications } from "./notifications.tsx";
import { StageRules } from "./stage-rules.tsx";

export function ProjectPage({ projectId }: { projectId: string }) {
  const project = useAsync(() => get(`/v1/projects/${projectId}`, Project), [projectId]);
  const [run, busy, error] = useAction();
  const [branch, setBranch] = useState("");
  const trigger = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const build = await post(`/v1/projects/${projectId}/builds`, branch ? { branch } : {}, BuildSummary);
      navigate(`/builds/${build.id}`);
    });
  };
  const p = project.data;
  return (
    <Page
      title={p ? p.name : "Project"}
      actions={
        p && (
          <a class="button" href={`/projects/${projectId}/deployments`}>
            Deployments
          </a>
        )
      }
    >
      <ErrorNote error={project.error} />
      {p && (
        <p class="muted">
          <span class="mono wrap">{p.gitUrl}</span> · {[p.framework, p.language].filter(Boolean).join(" · ") || "not detected yet"}
        </p>
      )}
      <form class="card row-form" onSubmit={trigger}>
        <label for="b-branch">Branch</label>
        <input id="b-branch" placeholder={p?.defaultBranch ?? "main"} value={branch} onInput={(e) => setBranch(e.currentTarget.value)} />
        <button class="primary" type="submit" disabled={busy}>
          Run a build
        </button>
        <ErrorNote error={error} />
      </form>
      <Builds projectId={projectId} />
      <Pipeline projectId={projectId} />
      <Detection projectId={projectId} onDetected={project.reload} />
      <StageRules projectId={projectId} />
      <Secrets projectId={projectId} />
      <Notifications projectId={projectId} />
    </Page>
  );
}

function Builds({ projectId }: { projectId: string }) {
  // Live: polled every 2 s while any build shown is still queued or running.
  const builds = useAsync(() => get(`/v1/projects/${projectId}/builds?limit=20`, page(BuildSummary)), [projectId], {
    pollMs: 2000,
    poll: (d) => d.items.some((b) => !FINISHED.has(b.status)),
  });
  return (
    <section aria-labelledby="builds-h">
      <h2 id="builds-h">Builds</h2>
      <ErrorNote error={builds.error} />
      {builds.data?.items.length === 0 && <p>No builds yet.</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Build</th>
              <th scope="col">Status</th>
              <th scope="col">Branch</th>
              <th scope="col">Commit</th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
            </tr>
          </thead>
          <tbody>
            {builds.data?.items.map((b) => (
              <tr key={b.id}>
                <td>
                  <a href={`/builds/${b.id}`}>#{b.number}</a>
                </td>
                <td>
                  <Status status={b.status} />
                </td>
                <td>{b.tag ? `tag ${b.tag}` : b.branch}</td>
                <td class="mono">{b.commitSha?.slice(0, 8) ?? "—"}</td>
                <td>
                  {b.startedAt ? (
                    <Time at={b.startedAt} />
                  ) : (
                    <>
                      queued <Time at={b.queuedAt} />
                    </>
                  )}
                </td>
                <td>{duration(b.startedAt, b.completedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Pipeline({ projectId }: { projectId: string }) {
  const versions = useAsync(() => get(`/v1/projects/${projectId}/pipeline/versions?limit=50`, page(PipelineVersionSummary)), [projectId]);
  const [chosen, setChosen] = useState<number | null>(null);
  const latest = versions.data?.items[0]?.version;
  const shown = chosen ?? latest;
  const version = useAsync(
    () => (shown === undefined ? Promise.resolve(null) : get(`/v1/projects/${projectId}/pipeline/versions/${shown}`, PipelineVersion)),
    [projectId, shown],
  );
  const v = version.data;
  return (
    <section aria-labelledby="pipeline-h">
      <h2 id="pipeline-h">Pipeline</h2>
      <ErrorNote error={versions.error ?? version.error} />
      {versions.data?.items.length === 0 && <p>No pipeline yet: the first build writes one from what it detects.</p>}
      {versions.data && versions.data.items.length > 0 && (
        <p>
          <label for="pv">Version</label>{" "}
          <select id="pv" value={shown} onChange={(e) => setChosen(Number(e.currentTarget.value))}>
            {versions.data.items.map((s) => (
              <option key={s.id} value={s.version}>
                v{s.version} · {s.source} · {new Date(s.createdAt).toLocaleString()}
              </option>
            ))}
          </select>
        </p>
      )}
      {v && (
        <div class="card">
          {v.configuration.stages.map((stage) => (
            <div key={stage.name}>
              <h3>{stage.name}</h3>
              {v.configuration.jobs
                .filter((j) => stage.jobs.includes(j.id))
                .map((job) => (
                  <div key={job.id} class="job">
                    <strong>{job.name}</strong>{" "}
                    <span class="muted">
                      ({job.workingDirectory}
                      {job.needs.length ? `, after ${job.needs.join(", ")}` : ""})
                    </span>
                    <ol>
                      {job.steps.map((s) => (
                        <li key={s.name}>
                          {s.name}: <code>{s.run}</code>
                        </li>
                      ))}
                    </ol>
                    {job.artifacts.length > 0 && <p class="muted">artifacts: {job.artifacts.join(", ")}</p>}
                  </div>
                ))}
            </div>
          ))}
          {v.sparkiYml && (
            <details>
              <summary>sparki.yml</summary>
              <pre>{v.sparkiYml}</pre>
            </details>
          )}
        </div>
      )}
      {v?.detection && (
        <>
          <h3>Detected for v{v.version}</h3>
          <DetectionCard d={v.detection} />
        </>
      )}
    </section>
  );
}

function Secrets({ projectId }: { projectId: string }) {
  const secrets = useAsync(() => get(`/v1/projects/${projectId}/secrets`, items(SecretInfo)), [projectId]);
  const [form, setForm] = useState({ name: "", value: "" });
  const [run, busy, error] = useAction();
  const save = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await api("PUT", `/v1/projects/${projectId}/secrets/${encodeURIComponent(form.name)}`, SecretInfo, { value: form.value });
      setForm({ name: "", value: "" });
      secrets.reload();
    });
  };
  return (
    <section aria-labelledby="secrets-h">
      <h2 id="secrets-h">Secrets</h2>
      <p class="muted">Values are never shown again; steps see them as environment variables, masked in the log.</p>
      <ErrorNote error={secrets.error ?? error} />
      <ul class="plain">
        {secrets.data?.items.map((s) => (
          <li key={s.name}>
            <code>{s.name}</code>{" "}
            <span class="muted">
              updated <Time at={s.updatedAt} />
            </span>{" "}
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                confirm(`Delete the secret ${s.name}?`) &&
                void run(async () => {
                  await api("DELETE", `/v1/projects/${projectId}/secrets/${encodeURIComponent(s.name)}`);
                  secrets.reload();
                })
              }
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      <form class="card row-form" onSubmit={save}>
        <label for="s-name">Name</label>
        <input id="s-name" required pattern="[A-Za-z_][A-Za-z0-9_]*" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        <label for="s-value">Value</label>
        <input
          id="s-value"
          type="password"
          autoComplete="off"
          required
          value={form.value}
          onInput={(e) => setForm({ ...form, value: e.currentTarget.value })}
        />
        <button type="submit" disabled={busy}>
          Save secret
        </button>
      </form>
    </section>
  );
}
