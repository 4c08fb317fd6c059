/**
 * What deployment tests start from: a succeeded build of a project whose pipeline has deploy
 * stages, with its site artifact (a .tar.gz of the output directory) in R2 where the runner
 * would have put it.
 */
import { env } from "cloudflare:test";
import { createTar } from "nanotar";
import { expect } from "vitest";
import { DeploymentSchema } from "../../core/config/schema.ts";
import { PipelineSchema } from "../../core/pipeline/index.ts";
import { connect, type Db } from "../../server/db/client.js";
import { builds, pipelines } from "../../server/db/schema.js";
import { call, type TestUser } from "./api.js";
import { artifactKey } from "../../server/r2-keys.js";
import { until } from "../../test/until.ts";

export async function withDb<T>(run: (db: Db) => Promise<T>): Promise<T> {
  const conn = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
  try {
    return await run(conn.db);
  } finally {
    await conn.close();
  }
}

export async function gzip(bytes: Uint8Array): Promise<ArrayBuffer> {
  return new Response(new Response(bytes).body?.pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

/** A pipeline with one build job (output `dist`) and a deploy job per stage, as the generator writes them. */
function pipelineWith(stages: unknown[]) {
  const deploys = stages.map((raw) => DeploymentSchema.parse(raw));
  const job = (id: string, stage: string, needs: string[]) => ({
    id,
    name: id,
    stage,
    app: ".",
    needs,
    runsOn: ["linux"],
    workingDirectory: ".",
    timeoutMinutes: 10,
    env: {},
    cache: null,
    steps: [],
    artifacts: [] as string[],
    branches: null as string[] | null,
    deploy: null as unknown,
  });
  const build = { ...job("build", "build", []), steps: [{ name: "build", run: "true" }], artifacts: ["dist"] };
  let previous: string | null = null;
  const deployJobs = deploys.map((d) => {
    const j = { ...job(`deploy-${d.stage}`, "deploy", ["build", ...(previous ? [previous] : [])]), env: d.env, branches: d.branches };
    previous = j.id;
    j.deploy = {
      stage: d.stage,
      platform: d.platform,
      strategy: d.strategy,
      canarySteps: d.canarySteps ?? null,
      canaryPauseSeconds: d.canaryPauseSeconds ?? 0,
      approval: d.approval,
      healthCheck: d.healthCheck ?? null,
      settings: d.settings,
      rollbackScript: null,
      artifact: "dist",
    };
    return j;
  });
  return PipelineSchema.parse({
    version: 1,
    name: "site",
    triggers: { branches: ["*"], pullRequests: true },
    env: {},
    stages: [],
    jobs: [build, ...deployJobs],
  });
}

/**
 * A succeeded build of `projectId` whose `dist` holds `files`, deploying to `stages` (sparki.yml
 * `deployments:` entries). Returns the build id.
 */
export async function builtSite(
  projectId: string,
  files: Record<string, string>,
  stages: unknown[],
  opts: { artifact?: boolean; branch?: string } = {},
): Promise<string> {
  const pipeline = pipelineWith(stages);
  const buildId = await withDb(async (db) => {
    const [p] = await db
      .insert(pipelines)
      .values({
        projectId,
        name: "site",
        configuration: pipeline,
        version: Math.floor(Math.random() * 1e9),
        contentHash: crypto.randomUUID().replaceAll("-", "").padEnd(64, "0"),
        source: "upload",
      })
      .returning({ id: pipelines.id });
    const [b] = await db
      .insert(builds)
      .values({
        projectId,
        pipelineId: p?.id,
        number: Math.floor(Math.random() * 1e9),
        branch: opts.branch ?? "main",
        commitSha: "a".repeat(40),
        status: "succeeded",
        trigger: "api",
        startedAt: new Date(),
        completedAt: new Date(),
      })
      .returning({ id: builds.id });
    return b?.id ?? "";
  });
  if (opts.artifact !== false) {
    const tar = createTar(Object.entries(files).map(([name, data]) => ({ name: `./${name}`, data })));
    await env.ARTIFACTS.put(artifactKey(projectId, buildId, "dist"), await gzip(tar), { customMetadata: { kind: "directory", jobId: `${buildId}.2` } });
  }
  return buildId;
}

/** A site version: an index page naming its version and an asset whose name carries it. */
export function siteVersion(version: string, extra: Record<string, string> = { "health.txt": "ok" }): Record<string, string> {
  return {
    "index.html": `<h1>${version}</h1><script src="assets/app-${version}.js"></script>`,
    [`assets/app-${version}.js`]: `console.log("${version}")`,
    ...extra,
  };
}

/** Polls the deployment until `done` holds for it (at most `timeoutMs`). */
export async function deploymentWhen(user: TestUser, id: string, done: (d: any) => boolean, timeoutMs = 20_000): Promise<any> {
  let last: any;
  return until(
    `deployment ${id} to reach the awaited state`,
    async () => {
      const res = await call("GET", `/v1/deployments/${id}`, { token: user.accessToken });
      expect(res.status, res.text).toBe(200);
      last = res.body;
      return done(res.body) && res.body;
    },
    timeoutMs,
    { diagnostics: () => `deployment ${id} stayed ${last?.status}: ${JSON.stringify(last?.events?.map((e: any) => `${e.type}: ${e.message}`))}` },
  );
}
