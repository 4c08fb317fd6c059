/**
 * The readable report of `sparki pipeline`: each job as the build will run it, every value with
 * where it came from (the detector's evidence, sparki.yml, or Sparki's default), so a surprising
 * command can be traced to the file that caused it.
 */
import { PipelineSettingsSchema, type PipelineSettings, type SparkiConfig } from "../core/config/index.ts";
import type { DetectedApp, Detection, EvidenceField } from "../core/detect/index.ts";
import { DEFAULT_TIMEOUTS, FIND_OUTPUT_ENV } from "../core/pipeline/generate.ts";
import type { Job, Pipeline } from "../core/pipeline/index.ts";
import { requirementLabel } from "../core/runtimes/labels.ts";

const dash = "—";
const DEFAULTS = PipelineSettingsSchema.parse({});

/** Whether sparki.yml's `pipeline:` sets `key` to something other than the default. */
function fromConfig(settings: PipelineSettings | undefined, key: keyof PipelineSettings): boolean {
  return settings !== undefined && JSON.stringify(settings[key]) !== JSON.stringify(DEFAULTS[key]);
}

const settingSource = (settings: PipelineSettings | undefined, key: keyof PipelineSettings): string =>
  fromConfig(settings, key) ? `sparki.yml pipeline.${key}` : "default";

/** "file: reason" of the evidence behind one field of an app, or null when the detector left none. */
function evidenceOf(app: DetectedApp | undefined, field: EvidenceField): string | null {
  const found = app?.evidence.filter((e) => e.field === field).at(-1);
  if (!found) return null;
  return found.file && !found.reason.startsWith(`set in ${found.file}`) ? `${found.file}: ${found.reason}` : found.reason;
}

function appOf(detection: Detection, path: string): DetectedApp | undefined {
  return path === detection.path ? detection : (detection.apps.find((a) => a.path === path) ?? (path === "." ? detection : undefined));
}

function stepSource(job: Job, stepName: string, detection: Detection): string {
  if (job.deploy) return `sparki.yml deployments (stage ${job.deploy.stage}): script`;
  const app = appOf(detection, job.app);
  const field = `commands.${stepName}` as EvidenceField;
  // A monorepo app's install is the root's: its evidence is the root's too.
  const own = evidenceOf(app, field) ?? (stepName === "install" ? evidenceOf(detection, field) : null);
  return own ?? "detected";
}

function envSource(name: string, job: Job, settings: PipelineSettings | undefined): string {
  if (!(name in job.env)) return name in (settings?.env ?? {}) ? "sparki.yml pipeline.env" : "Sparki";
  if (job.deploy) return "sparki.yml deployments env";
  if (name === FIND_OUTPUT_ENV) return "Sparki: no output directory is known, so the runner looks for the folder the build makes";
  return "Sparki, for this package manager";
}

function jobLines(job: Job, pipeline: Pipeline, detection: Detection, config: SparkiConfig | undefined): string[] {
  const settings = config?.pipeline;
  const about = [...(job.name === job.id ? [] : [job.name]), `stage ${job.stage}`, ...(job.app === "." ? [] : [`app ${job.app}`])];
  const out = [`${job.id}  (${about.join("; ")})`];
  const row = (label: string, value: string, source: string) => out.push(`  ${label.padEnd(13)} ${value}  ← ${source}`);
  row("needs", job.needs.join(", ") || dash, "the stage order");
  row("runs on", job.runsOn.join(", ") || "any runner", settingSource(settings, "runnerLabels"));
  const timeoutSource = fromConfig(settings, "timeoutMinutes")
    ? "sparki.yml pipeline.timeoutMinutes"
    : `default for ${job.stage} (${DEFAULT_TIMEOUTS[job.stage]} min)`;
  row("timeout", `${job.timeoutMinutes} min`, timeoutSource);
  if (job.runtime) {
    const label = requirementLabel(job.runtime);
    row("runtime", `${job.runtime.name} ${job.runtime.version} (needs a runner with ${label})`, evidenceOf(appOf(detection, job.app), "runtime") ?? "detected");
  }
  if (job.workingDirectory !== ".") row("directory", job.workingDirectory, "the app's folder");
  for (const [name, value] of Object.entries({ ...pipeline.env, ...job.env })) {
    row("env", `${name}=${value}`, envSource(name, job, settings));
  }
  if (job.cache) {
    const lockfile = appOf(detection, job.app)?.lockfile ?? detection.lockfile;
    row("cache", job.cache.key, lockfile ? `hash of ${lockfile}` : "no lockfile: hash of the install command");
    row(
      "  paths",
      job.cache.paths.join(", "),
      fromConfig(settings, "cachePaths") ? "package manager's defaults + sparki.yml pipeline.cachePaths" : "the package manager's defaults",
    );
  }
  for (const step of job.steps) row(`step ${step.name}`, step.run, stepSource(job, step.name, detection));
  if (job.steps.length === 0 && job.deploy)
    row("deploy", `${job.deploy.platform}, ${job.deploy.strategy}`, `sparki.yml deployments (stage ${job.deploy.stage})`);
  for (const artifact of job.artifacts) row("artifact", artifact, evidenceOf(appOf(detection, job.app), "outputDir") ?? "detected");
  if (job.branches) row("branches", job.branches.join(", "), `sparki.yml deployments (stage ${job.deploy?.stage ?? job.id})`);
  return out;
}

/** `sparki pipeline`'s report. `detection` is the one sparki.yml was applied to, as the plan job uses. */
export function formatPipeline(pipeline: Pipeline, detection: Detection, config: SparkiConfig | undefined, dir: string): string {
  const settings = config?.pipeline;
  const out = [`pipeline ${pipeline.name} — ${dir}`];
  const triggers = [
    `branches ${pipeline.triggers.branches.join(", ")}  ← ${settingSource(settings, "branches")}`,
    `pull requests ${pipeline.triggers.pullRequests ? "built" : "not built"}  ← ${settingSource(settings, "pullRequests")}`,
    `tags ${pipeline.triggers.tags === undefined ? "every tag" : pipeline.triggers.tags.join(", ") || "none"}  ← ${settingSource(settings, "tags")}`,
  ];
  out.push(...triggers.map((t) => `  ${t}`));
  if (pipeline.jobs.length === 0) out.push("", `no jobs: ${detection.reason ?? "nothing was detected and sparki.yml adds none"}`);
  for (const job of pipeline.jobs) out.push("", ...jobLines(job, pipeline, detection, config));
  out.push("", "sparki pipeline --json prints the pipeline itself (canonical JSON, as the build stores it)");
  return `${out.join("\n")}\n`;
}
