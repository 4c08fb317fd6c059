import { applyConfig } from "../config/merge.ts";
import { PipelineSettingsSchema, type Deployment, type SparkiConfig } from "../config/schema.ts";
import type { DetectedApp, Detection } from "../detect/schema.ts";
import type { FileTree } from "../detect/tree.ts";
import { runtimeRequirement } from "../runtimes/labels.ts";
import { cachePaths, cacheRuntime, installPaths, PORTABLE_INSTALLS, runsInstallScripts, sha256Hex } from "./cache.ts";
import type { Cache, Job, Pipeline, StageName } from "./schema.ts";

/** Inputs of {@link generatePipeline}. */
export interface PipelineInput {
  detection: Detection;
  /** The parsed sparki.yml, if the repository has one. */
  config?: SparkiConfig;
  /** The snapshot the detection ran on; lockfiles are read from it to key caches. */
  tree: FileTree;
  name?: string;
}

export const DEFAULT_TIMEOUTS: Readonly<Record<StageName, number>> = { install: 15, lint: 15, test: 30, build: 30, deploy: 30 };
const STAGES: readonly StageName[] = ["install", "lint", "test", "build", "deploy"];

/** "apps/web" → "apps-web": a job id prefix. */
const slug = (path: string) =>
  path
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .toLowerCase();

/** Joins and normalises repo-relative paths ("apps/web" + "../../dist/x" → "dist/x"). */
function repoPath(...parts: string[]): string {
  const out: string[] = [];
  for (const seg of parts.join("/").split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return out.length === 0 ? "." : out.join("/");
}

/** `members`: a monorepo root's apps, whose own node_modules (workspaces) the root install fills too. */
async function dependencyCache(app: DetectedApp, tree: FileTree, extra: readonly string[], members: readonly DetectedApp[] = []): Promise<Cache | null> {
  if (!app.packageManager || !app.commands.install) return null;
  const prefix = `deps-${app.packageManager}-`;
  const lock = app.lockfile ? await tree.read(app.lockfile) : null;
  // Without a lockfile the key can only follow the install command, so it is a weaker cache.
  const hash = await sha256Hex(lock ?? `no-lockfile:${app.path}:${app.commands.install}`);
  const inRepo = (cwd: string) => (p: string) => (p.startsWith("~") || p.startsWith("/") ? p : repoPath(cwd, p));
  const paths = [...cachePaths(app), ...extra].map(inRepo(app.cwd));
  const runtime = cacheRuntime(app);
  const installed = installPaths(app);
  const memberInstalls = installed?.includes("node_modules") ? members.map((m) => repoPath(m.path, "node_modules")) : [];
  const sharedPaths = installed ? [...new Set([...installed.map(inRepo(app.cwd)), ...memberInstalls])] : null;
  // The same lockfile, install command and paths (and, added by the runner, platform and runtime)
  // install the same files: any build may restore them instead of installing. Not with install
  // scripts of the project's own, whose output may lie elsewhere: then within one build only.
  const manifests = await Promise.all([app, ...members].map((a) => tree.read(repoPath(a.path, "package.json"))));
  const portable = sharedPaths !== null && lock !== null && PORTABLE_INSTALLS.has(app.packageManager) && !manifests.some(runsInstallScripts);
  const installKey = portable ? `install-${app.packageManager}-${await sha256Hex([lock, app.commands.install, ...sharedPaths].join("\0"))}` : null;
  return {
    key: `${prefix}${lock === null ? "nolock-" : ""}${hash}`,
    restoreKeys: [prefix],
    paths: [...new Set(paths)],
    ...(runtime ? { runtime } : {}),
    ...(sharedPaths ? { installPaths: sharedPaths } : {}),
    ...(installKey ? { installKey } : {}),
  };
}

/** The variable that asks the runner to find a build job's output (runner/output-discovery.ts). */
export const FIND_OUTPUT_ENV = "SPARKI_FIND_OUTPUT";

/** Whether sparki.yml says, for this app, that it has no output directory (`outputDir: null`). */
function outputDeclaredNone(config: SparkiConfig | undefined, appPath: string, rootPath: string): boolean {
  if (!config) return false;
  const own = config.apps[appPath]?.outputDir;
  if (own !== undefined) return own === null;
  return appPath === rootPath && config.outputDir === null;
}

interface Unit {
  app: DetectedApp;
  /** Id of the install job this unit's jobs depend on (its own, or the monorepo root's). */
  installJob: string | null;
  ownInstall: boolean;
}

/**
 * Detection plus sparki.yml → a pipeline: install, lint, test and build jobs per
 * project (per app in a monorepo, after one root install), then one deploy job per
 * configured stage. Pure and deterministic; serialise with `canonicalJson`.
 */
export async function generatePipeline(input: PipelineInput): Promise<Pipeline> {
  const detection = input.config ? applyConfig(input.detection, input.config) : input.detection;
  const settings = input.config?.pipeline ?? PipelineSettingsSchema.parse({});
  const timeout = (stage: StageName) => settings.timeoutMinutes ?? DEFAULT_TIMEOUTS[stage];
  const jobs: Job[] = [];
  const base = (app: DetectedApp, stage: StageName, id: string, name: string, needs: string[]): Job => {
    // Only when there is one, so pipelines without a pinned runtime keep their content hash.
    const runtime = runtimeRequirement(app);
    return {
      id,
      name,
      stage,
      app: app.path,
      needs,
      runsOn: [...settings.runnerLabels],
      workingDirectory: app.cwd,
      timeoutMinutes: timeout(stage),
      env: app.packageManager === "bundler" ? { BUNDLE_PATH: "vendor/bundle" } : {},
      cache: null,
      steps: [],
      artifacts: [],
      branches: null,
      deploy: null,
      ...(runtime ? { runtime } : {}),
    };
  };

  const monorepoRoot = detection.apps.length > 0 && detection.packageManager !== null;
  const units: Unit[] = [];
  if (monorepoRoot) {
    const root = detection;
    if (root.commands.install) {
      const job = base(root, "install", "install", "install", []);
      job.cache = await dependencyCache(root, input.tree, settings.cachePaths, detection.apps);
      job.steps = [{ name: "install", run: root.commands.install }];
      jobs.push(job);
    }
    for (const app of detection.apps) units.push({ app, installJob: root.commands.install ? "install" : null, ownInstall: false });
  } else if (detection.apps.length > 0) {
    for (const app of detection.apps) units.push({ app, installJob: null, ownInstall: true });
  } else if (detection.language !== null || detection.framework !== null) {
    units.push({ app: detection, installJob: null, ownInstall: true });
  }

  const buildJobs = new Map<string, string>();
  for (const unit of units) {
    const { app } = unit;
    const prefix = units.length === 1 && app.path === detection.path && !monorepoRoot ? "" : `${slug(app.path)}-`;
    const cache = monorepoRoot
      ? await dependencyCache(detection, input.tree, settings.cachePaths, detection.apps)
      : await dependencyCache(app, input.tree, settings.cachePaths);
    const install = monorepoRoot ? detection.commands.install : app.commands.install;
    const installStep = install ? [{ name: "install", run: install }] : [];
    let previous: string[] = [];
    if (unit.ownInstall && install) {
      const job = base(app, "install", `${prefix}install`, `${app.path === "." ? "" : `${app.path}: `}install`, []);
      job.cache = cache;
      job.steps = installStep;
      jobs.push(job);
      previous = [job.id];
    } else if (unit.installJob) previous = [unit.installJob];

    for (const stage of ["lint", "test", "build"] as const) {
      const command = app.commands[stage];
      if (!command) continue;
      const job = base(app, stage, `${prefix}${stage}`, `${app.path === "." ? "" : `${app.path}: `}${stage}`, previous);
      job.cache = cache;
      // The install step stays, as the fallback: the runner skips it when the build's install
      // result is already in this job's folder (same runner) or restores it from the build-scoped
      // entry the install job saved (another runner); only without either does it install again.
      job.steps = [...installStep, { name: stage, run: command }];
      if (stage === "build" && app.outputDir) job.artifacts = [repoPath(app.path, app.outputDir)];
      else if (stage === "build" && !outputDeclaredNone(input.config, app.path, detection.path)) {
        // Nothing declares an output: the runner keeps the folder the build creates, if any
        // (runner/output-discovery.ts). An explicit `outputDir: null` in sparki.yml opts out.
        job.env = { ...job.env, [FIND_OUTPUT_ENV]: repoPath(app.path) };
      }
      jobs.push(job);
      if (stage === "build") buildJobs.set(app.path, job.id);
    }
    // lint and test run side by side; build waits for both.
    const gate = jobs.filter((j) => j.app === app.path && (j.stage === "lint" || j.stage === "test")).map((j) => j.id);
    const build = jobs.find((j) => j.id === `${prefix}build`);
    if (build && gate.length > 0) build.needs = gate;
  }

  let previousDeploy: string | null = null;
  for (const d of input.config?.deployments ?? []) {
    jobs.push(deployJob(d, detection, units, jobs, buildJobs, previousDeploy, base, timeout("deploy")));
    previousDeploy = `deploy-${d.stage}`;
  }

  jobs.sort((a, b) => STAGES.indexOf(a.stage) - STAGES.indexOf(b.stage) || (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
  return {
    version: 1,
    name: input.name ?? detection.name ?? "pipeline",
    triggers: {
      branches: [...settings.branches],
      pullRequests: settings.pullRequests,
      // Only when set, so pipelines without it keep their content hash (and version).
      ...(settings.cancelSuperseded !== undefined ? { cancelSuperseded: settings.cancelSuperseded } : {}),
      ...(settings.tags !== undefined ? { tags: [...settings.tags] } : {}),
    },
    env: { CI: "true", ...settings.env },
    stages: STAGES.map((name) => ({ name, jobs: jobs.filter((j) => j.stage === name).map((j) => j.id) })).filter((s) => s.jobs.length > 0),
    jobs,
  };
}

function deployJob(
  d: Deployment,
  detection: Detection,
  units: readonly Unit[],
  jobs: readonly Job[],
  buildJobs: ReadonlyMap<string, string>,
  previousDeploy: string | null,
  base: (app: DetectedApp, stage: StageName, id: string, name: string, needs: string[]) => Job,
  timeoutMinutes: number,
): Job {
  const target = (d.app ? units.find((u) => u.app.path === d.app)?.app : units.length === 1 ? units[0]?.app : undefined) ?? detection;
  const needs = [...(buildJobs.has(target.path) ? [buildJobs.get(target.path) ?? ""] : []), ...(previousDeploy ? [previousDeploy] : [])];
  const job = base(target, "deploy", `deploy-${d.stage}`, `deploy ${d.stage}`, needs);
  job.timeoutMinutes = timeoutMinutes;
  job.env = { ...d.env };
  job.branches = [...d.branches];
  job.steps = d.platform === "script" && d.script ? [{ name: "deploy", run: d.script }] : [];
  job.deploy = {
    stage: d.stage,
    platform: d.platform,
    strategy: d.strategy,
    canarySteps: d.canarySteps ? [...d.canarySteps] : null,
    canaryPauseSeconds: d.canaryPauseSeconds ?? 0,
    approval: d.approval,
    healthCheck: d.healthCheck ?? null,
    settings: { ...d.settings },
    rollbackScript: d.rollbackScript ?? null,
    artifact: (jobs.find((j) => j.id === buildJobs.get(target.path))?.artifacts[0] ?? null)?.replace(/^\.\/+/, "") ?? null,
  };
  return job;
}
