/**
 * Detection and its evidence. The API detects from a snapshot of manifest and config files,
 * so the reader picks the repository's folder and the page sends those files (never the
 * source: at most 500 files of 256 KiB, skipping dependency and VCS folders).
 */
import { useState } from "preact/hooks";
import { post } from "../api.ts";
import { DetectResponse, type Detection as DetectionShape, type Out } from "../contracts.ts";
import { ErrorNote, useAction } from "../ui.tsx";

const SKIP = /(^|\/)(node_modules|\.git|dist|build|target|vendor|\.venv|venv|__pycache__|\.next)\//;
const MANIFEST =
  /(^|\/)(package\.json|[\w.-]*lock[\w.-]*|sparki\.ya?ml|[\w.-]+\.config\.[cm]?[jt]s|tsconfig\.json|requirements[\w.-]*\.txt|pyproject\.toml|setup\.(py|cfg)|Pipfile|go\.mod|go\.sum|Cargo\.toml|Gemfile|composer\.json|pom\.xml|build\.gradle(\.kts)?|Dockerfile|\.nvmrc|\.node-version|\.python-version|\.tool-versions|netlify\.toml|vercel\.json|[\w.-]+\.csproj|mix\.exs|deno\.jsonc?)$/;

async function snapshot(files: FileList): Promise<{ path: string; content: string }[]> {
  const picked: { path: string; content: string }[] = [];
  for (const file of Array.from(files)) {
    // webkitRelativePath starts with the chosen folder's own name.
    const path = (file.webkitRelativePath || file.name)
      .split("/")
      .slice(file.webkitRelativePath ? 1 : 0)
      .join("/");
    if (SKIP.test(path) || !MANIFEST.test(path) || file.size > 256 * 1024) continue;
    picked.push({ path, content: await file.text() });
    if (picked.length === 500) break;
  }
  return picked;
}

export function Detection({ projectId, onDetected }: { projectId: string; onDetected(): void }) {
  const [result, setResult] = useState<Out<typeof DetectResponse> | null>(null);
  const [run, busy, error] = useAction();
  const pick = (e: Event) => {
    const files = (e.currentTarget as HTMLInputElement).files;
    if (!files) return;
    void run(async () => {
      const snap = await snapshot(files);
      if (snap.length === 0) throw new Error("No manifest or config files in that folder (package.json, go.mod, pyproject.toml, …).");
      setResult(await post(`/v1/projects/${projectId}/detect`, { files: snap }, DetectResponse));
      onDetected();
    });
  };
  const d = result?.detection;
  return (
    <section aria-labelledby="detect-h">
      <h2 id="detect-h">Detection</h2>
      <p class="muted">
        Each build detects the project on its runner; the pipeline below shows what it found and why. To try a folder on this computer first, choose it here;
        only its manifest and config files are sent.
      </p>
      <label for="d-files">Repository folder</label> <input id="d-files" type="file" multiple {...{ webkitdirectory: "" }} onChange={pick} disabled={busy} />
      <ErrorNote error={error} />
      {d && result && (
        <DetectionCard d={d} note={result.created ? ` · new pipeline v${result.pipeline.version}` : ` · same as pipeline v${result.pipeline.version}`} />
      )}
    </section>
  );
}

/** What the detector found and why: shown for a folder picked here, and with each pipeline version. */
export function DetectionCard({ d, note = "" }: { d: Out<typeof DetectionShape>; note?: string }) {
  return (
    <div class="card">
      <p>
        <strong>{d.framework ?? "no framework"}</strong> · {d.language ?? "unknown language"} · {d.packageManager ?? "no package manager"} · output{" "}
        {d.outputDir ?? "none"} · confidence {Math.round(d.confidence * 100)}%{note}
      </p>
      {d.reason && <p>{d.reason}</p>}
      <h3>Evidence</h3>
      <ul>
        {d.evidence.map((e, i) => (
          <li key={i}>
            <strong>{e.field}</strong>: {e.reason}
            {e.file && (
              <>
                {" "}
                (<code>{e.file}</code>)
              </>
            )}
          </li>
        ))}
      </ul>
      {d.apps.length > 0 && (
        <>
          <h3>Apps</h3>
          <ul>
            {d.apps.map((a) => (
              <li key={a.path}>
                <code>{a.path}</code>: {a.framework ?? "?"} ({a.language ?? "?"}), {a.evidence.length} pieces of evidence
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
