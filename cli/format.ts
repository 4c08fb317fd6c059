import { PipelineSettingsSchema, type PipelineSettings } from "../core/config/index.ts";
import type { DetectedApp, Detection } from "../core/detect/index.ts";
import { DEFAULT_TIMEOUTS } from "../core/pipeline/generate.ts";

const dash = "—";
const pad = (s: string, n: number) => s.padEnd(n);

function appLines(app: DetectedApp, indent: string): string[] {
  const runtime = app.runtime ? `${app.runtime.name} ${app.runtime.version ?? "(any version)"}` : dash;
  const pm = app.packageManager ? `${app.packageManager}${app.packageManagerVersion ? ` ${app.packageManagerVersion}` : ""}` : dash;
  const rows: Array<[string, string]> = [
    ["framework", `${app.framework ?? dash}  (confidence ${app.confidence})`],
    ["language", app.language ?? dash],
    ["package manager", pm],
    ["runtime", runtime],
    ["install", app.commands.install ?? dash],
    ["lint", app.commands.lint ?? dash],
    ["test", app.commands.test ?? dash],
    ["build", app.commands.build ?? dash],
    ["start", app.commands.start ?? dash],
    ["output dir", app.outputDir ?? dash],
  ];
  if (app.cwd !== app.path) rows.push(["commands run in", app.cwd]);
  return rows.map(([k, v]) => `${indent}${pad(k, 16)} ${v}`);
}

function evidenceLines(app: DetectedApp, indent: string): string[] {
  return app.evidence.map((e) => `${indent}${pad(e.field, 16)} ${e.file ? `${e.file}: ` : ""}${e.reason}`);
}

/** Fields that sparki.yml set on one app (its evidence says so). */
function overridden(app: DetectedApp): string[] {
  return [...new Set(app.evidence.filter((e) => e.file === "sparki.yml" && e.reason.startsWith("set in sparki.yml")).map((e) => e.field))];
}

/** The human-readable report of `sparki detect`: answers, then the evidence for each. */
export function formatDetection(d: Detection, dir: string): string {
  const out: string[] = [];
  const where = d.path === "." ? dir : `${dir} (project in ${d.path}/)`;
  out.push(`${d.name ?? "project"} — ${where}`);
  const fromConfig = [d, ...d.apps].flatMap((app) => overridden(app).map((f) => (app === d ? f : `${app.path}: ${f}`)));
  if (fromConfig.length > 0) out.push(`  sparki.yml overrides ${fromConfig.join(", ")}; the rest is detected`);
  if (d.reason) out.push(`  ${d.reason}`);
  out.push(...appLines(d, "  "), "", "evidence", ...evidenceLines(d, "  "));
  if (d.apps.length > 0) {
    out.push("", `apps (${d.apps.length})`);
    for (const app of d.apps) {
      out.push("", `  ${app.path}${app.name ? `  (${app.name})` : ""}`, ...appLines(app, "    "), "    evidence", ...evidenceLines(app, "      "));
    }
  }
  return `${out.join("\n")}\n`;
}

/**
 * The pipeline settings a build uses (sparki.yml's `pipeline:`, else the defaults), each with
 * its source: `sparki.yml` where the file sets a value other than the default.
 */
export function formatPipelineSettings(settings: PipelineSettings | undefined): string {
  const defaults = PipelineSettingsSchema.parse({});
  const s = settings ?? defaults;
  const source = (key: keyof PipelineSettings) => (JSON.stringify(s[key]) === JSON.stringify(defaults[key]) ? "default" : "sparki.yml");
  const timeouts = Object.entries(DEFAULT_TIMEOUTS)
    .map(([stage, minutes]) => `${stage} ${minutes}`)
    .join(", ");
  const rows: Array<[string, string, keyof PipelineSettings]> = [
    ["runner labels", s.runnerLabels.join(", "), "runnerLabels"],
    ["branches", s.branches.join(", "), "branches"],
    ["pull requests", s.pullRequests ? "built" : "not built", "pullRequests"],
    ["tags", s.tags === undefined ? "every tag" : s.tags.length > 0 ? s.tags.join(", ") : "none", "tags"],
    ["cancel older", s.cancelSuperseded === undefined ? "for builds from a git host" : s.cancelSuperseded ? "always" : "never", "cancelSuperseded"],
    ["timeout", s.timeoutMinutes === undefined ? `each stage's (min: ${timeouts})` : `${s.timeoutMinutes} min, every job`, "timeoutMinutes"],
    [
      "env",
      Object.entries(s.env)
        .map(([name, value]) => `${name}=${value}`)
        .join(" ") || dash,
      "env",
    ],
    ["cache paths", s.cachePaths.join(", ") || "(the detected package manager's)", "cachePaths"],
  ];
  return `\npipeline\n${rows.map(([label, value, key]) => `  ${pad(label, 16)} ${value}  (${source(key)})`).join("\n")}\n`;
}
