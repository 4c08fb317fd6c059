/**
 * `script`: the stage's deploy script from sparki.yml, run by one of the user's runners in a
 * checkout of the deployed commit, as a build of its own (trigger `deploy`, so its log is a build
 * log like any other). The deployment is ready when that build succeeds; the orchestrator then
 * does the health checks. A rollback runs the stage's `rollbackScript` the same way, with the
 * commit to go back to in SPARKI_ROLLBACK_TO_COMMIT, and waits for it to finish.
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import { localProblems, type DeployContext, type PlatformAdapter, type PlatformState } from "../../../core/deploy/adapter.ts";
import { PipelineSchema } from "../../../core/pipeline/index.ts";
import type { Db } from "../../db/client.js";
import { builds, projects } from "../../db/schema.js";
import { configOf, type Bindings } from "../../config.js";
import { buildCoordinator } from "../../objects/clients.js";
import { triggerBuild } from "../../use-cases/trigger-build.js";

export const scriptSettings = z.strictObject({
  /** Labels a runner needs to run the scripts (the pipeline's by default). */
  runnerLabels: z.array(z.string().min(1)).min(1).default(["linux"]),
  /** Where the deployed app answers, for people (health checks use healthCheck.url). */
  url: z.url().optional(),
  timeoutMinutes: z.number().int().min(1).max(240).default(30),
});

export interface ScriptDeps {
  env: Bindings;
  db: () => Promise<Db>;
  script: string | null;
  rollbackScript: string | null;
  /** How often a rollback's build is asked about while the orchestrator waits for it. */
  pollMs?: number;
}

/** Starts a build of one job running `command` at the deployed commit; returns its id. */
async function runScript(deps: ScriptDeps, ctx: DeployContext, name: string, command: string, extraEnv: Record<string, string>): Promise<string> {
  const settings = scriptSettings.parse(ctx.settings);
  const db = await deps.db();
  const [project] = await db
    .select({ workspaceId: projects.workspaceId, gitUrl: projects.gitUrl, defaultBranch: projects.defaultBranch })
    .from(projects)
    .where(eq(projects.id, ctx.projectId));
  if (!project) throw new Error("the project is gone");
  const env = { ...ctx.env, SPARKI_DEPLOYMENT_ID: ctx.deploymentId, SPARKI_STAGE: ctx.stage, SPARKI_COMMIT_SHA: ctx.commitSha, ...extraEnv };
  const pipeline = PipelineSchema.parse({
    version: 1,
    name: `${name} ${ctx.stage}`,
    triggers: { branches: ["*"], pullRequests: false },
    env: { CI: "true" },
    stages: [{ name: "deploy", jobs: [name] }],
    jobs: [
      {
        id: name,
        name: `${name} ${ctx.stage}`,
        stage: "deploy",
        app: ".",
        needs: [],
        runsOn: settings.runnerLabels,
        workingDirectory: ".",
        timeoutMinutes: settings.timeoutMinutes,
        env,
        cache: null,
        steps: [{ name, run: command }],
        artifacts: [],
        branches: null,
        deploy: null,
      },
    ],
  });
  // A deploy script acts with the platform's credentials: only the workspace's own runners run it
  // (a development stack's local runner too, see runner-pools.ts).
  const ownRunnersOnly = configOf(deps.env).DEV_TRUST_SHARED_RUNNERS !== true;
  const row = await triggerBuild(deps.env, db, {
    project: { id: ctx.projectId, workspaceId: project.workspaceId, gitUrl: project.gitUrl, framework: null },
    branch: project.defaultBranch,
    commitSha: ctx.commitSha,
    source: { trigger: "deploy", pipeline, ownRunnersOnly },
  });
  return row.id;
}

async function buildState(env: Bindings, buildId: string): Promise<PlatformState> {
  const view = await buildCoordinator(env, buildId).view();
  if (!view) return "failed";
  if (view.status === "succeeded") return "ready";
  if (view.status === "queued" || view.status === "running") return "pending";
  return "failed";
}

export function scriptAdapter(deps: ScriptDeps): PlatformAdapter {
  return {
    platform: "script",
    settings: scriptSettings,
    credentials: [],

    async validate(ctx) {
      const { problems } = localProblems("script", [], scriptSettings, ctx);
      if (!deps.script) problems.push("platform script needs a script to run");
      if (!/^[0-9a-f]{40}$/.test(ctx.commitSha)) problems.push("the build has no commit to deploy");
      return problems;
    },

    async deploy(ctx) {
      const buildId = await runScript(deps, ctx, "deploy", deps.script ?? "false", {});
      return { id: buildId, url: scriptSettings.parse(ctx.settings).url ?? null };
    },

    async state(_ctx, deployment) {
      return buildState(deps.env, deployment.id);
    },

    /** Runs the rollback script with the commit of the deploy build being put back, and waits for it. */
    async rollback(ctx, to) {
      if (!deps.rollbackScript) throw new Error(`stage ${ctx.stage} has no rollbackScript`);
      const [previous] = await (await deps.db()).select({ commitSha: builds.commitSha }).from(builds).where(eq(builds.id, to.id));
      const buildId = await runScript(deps, ctx, "rollback", deps.rollbackScript, {
        SPARKI_ROLLBACK_TO: to.id,
        SPARKI_ROLLBACK_TO_COMMIT: previous?.commitSha ?? "",
      });
      for (;;) {
        if (ctx.signal.aborted) throw new Error("the rollback was abandoned");
        const state = await buildState(deps.env, buildId);
        if (state === "ready") return { id: to.id, url: to.url };
        if (state === "failed") throw new Error(`the rollback script (build ${buildId}) did not succeed`);
        await new Promise((r) => setTimeout(r, deps.pollMs ?? 1000));
      }
    },
  };
}
