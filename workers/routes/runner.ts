/**
 * The runner protocol's server side (core/contracts/runner.ts). A runner claims with its own token
 * and gets the job with a job token; every call on the job takes that token (and nothing else),
 * and the job's BuildCoordinator checks the lease it names, bound to the runner that claimed it.
 * The log socket is a plain route (a WebSocket) and artifact uploads are in runner-artifacts.ts
 * (a streamed body); the JSON calls are in the OpenAPI document.
 */
import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { z } from "zod";
import {
  ClaimRequest,
  type CloneCredential,
  CompleteRequest,
  FENCING_TOKEN_HEADER,
  HeartbeatRequest,
  HeartbeatResponse,
  Job,
  LEASE_ID_HEADER,
  type Lease,
  PipelineUploadRequest,
  RegisterRequest,
  RegisterResponse,
  ReleaseRequest,
  StepId,
  StepUpdateRequest,
} from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import { maxClaimWaitMs, sharedPool, workspacePool } from "../../server/objects/runner-dispatcher/protocol.js";
import type { Holder } from "../../server/objects/build-coordinator/protocol.js";
import { signJobToken } from "../auth/job-tokens.js";
import { hashToken, newToken, tokenPrefix } from "../auth/tokens.js";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";
import { builds, projects, runnerRegistrationTokens, runners } from "../../server/db/schema.js";
import { projectSecrets } from "../../server/secrets/project-secrets.js";
import { authenticateJob, authenticateRunner } from "../middleware/authenticate-runner.js";
import { audit } from "../services/audit.js";
import { cloneCredentialFor } from "../services/clone-credentials.js";
import { gitlabCloneCredential } from "../../server/integrations/gitlab/clone-credential.js";
import { buildIdOfJob, refusalError } from "../services/builds.js";
import { savePipeline } from "../services/pipelines.js";
import { sharedPoolWithholds, withholdsFromShared, workspacePolicy } from "../services/runner-pools.js";
import { json, jsonBody, newRouter, problems } from "./router.js";
import { buildCoordinator, runnerDispatcher } from "../../server/objects/clients.js";

export const runnerRoutes = newRouter();
const runnerAuth = { security: [{ runnerToken: [] }], middleware: [authenticateRunner] };
const jobAuth = { security: [{ jobToken: [] }], middleware: [authenticateJob] };
const JobParams = z.object({ id: z.string().min(1).max(128) });

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/register",
    tags: ["runner"],
    summary: "Register a runner with a workspace's registration token (or the shared-pool token)",
    request: { body: jsonBody(RegisterRequest) },
    responses: { 201: { description: "Registered", content: json(RegisterResponse) }, ...problems(400, 401) },
  }),
  async (c) => {
    const { token, name, labels, version } = c.req.valid("json");
    const db = await c.var.db();
    let workspaceId: string | null;
    const shared = c.var.config.SHARED_RUNNER_TOKEN;
    if (shared !== undefined && token === shared) {
      workspaceId = null;
    } else {
      const [row] = token.startsWith(tokenPrefix.runnerRegistration)
        ? await db
            .select({ workspaceId: runnerRegistrationTokens.workspaceId })
            .from(runnerRegistrationTokens)
            .where(eq(runnerRegistrationTokens.tokenHash, await hashToken(token)))
        : [];
      if (!row)
        throw new SparkiError("invalid_token", { detail: "The registration token is not valid; create one with POST /v1/workspaces/:id/runner-tokens." });
      workspaceId = row.workspaceId;
    }
    const runnerToken = newToken("runner");
    const [runner] = await db
      .insert(runners)
      .values({ workspaceId, name, labels, version, tokenHash: await hashToken(runnerToken), lastSeenAt: new Date() })
      .returning({ id: runners.id });
    if (!runner) throw new Error("insert returned no row");
    await audit(c, db, {
      eventType: "data",
      action: "runner.register",
      result: "success",
      userId: null,
      workspaceId,
      resourceType: "runner",
      resourceId: runner.id,
      details: { name, labels, version, pool: workspaceId ? "workspace" : "shared" },
    });
    return c.json({ runnerId: runner.id, runnerToken }, 201);
  },
);

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/claim",
    tags: ["runner"],
    summary: "Long-poll (up to 30 s) for a job this runner's registered labels and reported runtimes fit",
    ...runnerAuth,
    request: { body: jsonBody(ClaimRequest) },
    responses: {
      200: { description: "A job, under a lease", content: json(Job) },
      204: { description: "No job came in time; ask again" },
      ...problems(400, 401),
    },
  }),
  async (c) => {
    // `capacity` is not used: one job per claim either way.
    const { runtimes } = c.req.valid("json");
    const runner = c.var.runner;
    // The labels it registered with, never new ones from the request: a claim cannot widen what
    // it gets. Runtime labels are the exception, parsed as such (core/runtimes/labels.ts): they
    // say what the host has, and a runner that claims one it lacks only gets jobs it could take
    // anyway (its pool, its registered labels), which it then fails for want of that runtime.
    const labels = [...new Set([...runner.labels, ...(runtimes ?? [])])];
    const shared = runner.workspaceId === null;
    // Shared runners run other tenants' code: each workspace's policy says what they may take.
    const policed = shared && !c.var.config.DEV_TRUST_SHARED_RUNNERS;
    const pool = runnerDispatcher(c.env, runner.workspaceId ? workspacePool(runner.workspaceId) : sharedPool);
    const deadline = Date.now() + maxClaimWaitMs - 2000;
    // An offer may lose to another pool's claim of the same job; then wait for the next one.
    while (Date.now() < deadline) {
      const offer = await pool.claim({ runnerId: runner.id, labels }, deadline - Date.now());
      if (!offer) break;
      const build = buildCoordinator(c.env, offer.buildId);
      // Postgres only once an offer came: a long-poll must not hold a connection while it waits.
      if (policed && (await sharedPoolWithholds(await c.var.db(), offer.buildId))) {
        await build.leavePool(sharedPool);
        continue;
      }
      const job = await build.claimJob(offer.jobId, { runnerId: runner.id, workspaceId: runner.workspaceId });
      if (!job) continue;
      const holder: Holder = { leaseId: job.leaseId, fencingToken: job.fencingToken, runnerId: runner.id };
      const owner = await build.checkLease(job.jobId, holder);
      if ("refused" in owner) continue;
      // Decided again with the secrets in hand: one may have been added since the build was queued.
      const jobSecrets = await jobSecretsOf(c, owner.projectId, offer.buildId);
      if (policed && jobSecrets.length > 0 && withholdsFromShared(await workspacePolicy(await c.var.db(), owner.workspaceId), true)) {
        await build.leavePool(sharedPool);
        await build.release(job.jobId, holder);
        continue;
      }
      // A private GitHub repository: a token for this job and repository alone. GitHub down: the
      // job goes back to the queue and the runner asks again (503 with Retry-After).
      let cloneCredential: CloneCredential | null;
      try {
        const db = await c.var.db();
        // A GitLab-linked project: the link's project access token, for its own repository URL only.
        cloneCredential =
          (await cloneCredentialFor(c.var.config, db, owner.projectId)) ?? (await gitlabCloneCredential(c.var.config, db, owner.projectId, job.repo.url));
      } catch (err) {
        await build.release(job.jobId, holder);
        throw err;
      }
      // Secrets go only to the runner holding the job, and the coordinator masks them again.
      const masks = [...jobSecrets.map((s) => s.value), ...(cloneCredential ? [cloneCredential.password] : [])];
      if (masks.length > 0) await build.addMasks(masks);
      // A ceiling: the job's time, a lease, and room for the log drain and the result's retries.
      // The lease check on every call ends the token sooner whenever the lease goes.
      const ttlSeconds = job.timeoutSeconds + c.var.config.RUNNER_LEASE_SECONDS + 900;
      const jobToken = await signJobToken({ jobId: job.jobId, ...holder }, c.var.config.JWT_SECRET, ttlSeconds);
      // The runner shares a repository mirror among jobs of one project only (runner/mirror.ts).
      const checkoutScope = `project:${owner.projectId}`;
      return c.json({ ...job, secrets: jobSecrets, ...(cloneCredential ? { cloneCredential } : {}), checkoutScope, jobToken }, 200);
    }
    return c.body(null, 204);
  },
);

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/disconnect",
    tags: ["runner"],
    summary: "The runner stops claiming, or starts again: a claim of it still waiting ends empty, and it no longer counts as online",
    ...runnerAuth,
    responses: { 204: { description: "Disconnected; jobs it holds keep their leases" }, ...problems(401) },
  }),
  async (c) => {
    const runner = c.var.runner;
    await runnerDispatcher(c.env, runner.workspaceId ? workspacePool(runner.workspaceId) : sharedPool).disconnect(runner.id);
    return c.body(null, 204);
  },
);

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/heartbeat",
    tags: ["runner"],
    summary: "Extend the lease; learn whether the build was cancelled",
    ...jobAuth,
    request: { params: JobParams, body: jsonBody(HeartbeatRequest) },
    responses: { 200: { description: "The lease, extended", content: json(HeartbeatResponse) }, ...problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const answer = await buildCoordinator(c.env, buildIdOfJob(id)).heartbeat(id, holderOf(c, c.req.valid("json")));
    if ("refused" in answer) throw refusalError(answer);
    // A busy runner does not claim: its heartbeats keep it online in its pool, so a job waiting
    // for its labels reads "busy", not "no runner online". After the answer, never holding it up.
    const home = c.var.jobRunnerWorkspaceId;
    c.executionCtx.waitUntil(
      runnerDispatcher(c.env, home ? workspacePool(home) : sharedPool)
        .seen(c.var.job.runnerId)
        .catch((err: unknown) => c.var.log.warn("runner presence not recorded", { error: String(err) })),
    );
    return c.json(answer, 200);
  },
);

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/steps/{stepId}",
    tags: ["runner"],
    summary: "Report a step's progress",
    ...jobAuth,
    request: { params: JobParams.extend({ stepId: StepId }), body: jsonBody(StepUpdateRequest) },
    responses: { 204: { description: "Recorded" }, ...problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id, stepId } = c.req.valid("param");
    const { leaseId, fencingToken, ...report } = c.req.valid("json");
    const refusal = await buildCoordinator(c.env, buildIdOfJob(id)).stepUpdate(id, holderOf(c, { leaseId, fencingToken }), stepId, report);
    if (refusal) throw refusalError(refusal);
    return c.body(null, 204);
  },
);

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/pipeline",
    tags: ["runner"],
    summary: "The plan job's result: the pipeline for this commit (a new version when it differs)",
    ...jobAuth,
    request: { params: JobParams, body: jsonBody(PipelineUploadRequest) },
    responses: { 204: { description: "Accepted" }, ...problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { pipeline, commitSha, detection, sparkiYml, ...body } = c.req.valid("json");
    const lease = holderOf(c, body);
    const buildId = buildIdOfJob(id);
    const owner = await buildCoordinator(c.env, buildId).checkLease(id, lease);
    if ("refused" in owner) throw refusalError(owner);
    const db = await c.var.db();
    const [project] = await db
      .select({ id: projects.id, workspaceId: projects.workspaceId, name: projects.name })
      .from(projects)
      .where(eq(projects.id, owner.projectId));
    if (!project) throw new SparkiError("not_found", { detail: "The build's project was deleted." });
    const saved = await savePipeline(c, project, {
      configuration: pipeline,
      source: "upload",
      detection: detection ?? null,
      sparkiYml: sparkiYml ?? null,
      snapshotKey: null,
      createdBy: null,
    });
    await db.update(builds).set({ pipelineId: saved.version.id }).where(eq(builds.id, buildId));
    const refusal = await buildCoordinator(c.env, buildId).uploadPipeline(id, lease, saved.version.configuration, commitSha ?? null);
    if (refusal) throw refusalError(refusal);
    return c.body(null, 204);
  },
);

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/complete",
    tags: ["runner"],
    summary: "Report the job's result",
    ...jobAuth,
    request: { params: JobParams, body: jsonBody(CompleteRequest) },
    responses: { 204: { description: "Recorded" }, ...problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { leaseId, fencingToken, ...result } = c.req.valid("json");
    const refusal = await buildCoordinator(c.env, buildIdOfJob(id)).complete(id, holderOf(c, { leaseId, fencingToken }), result);
    if (refusal) throw refusalError(refusal);
    return c.body(null, 204);
  },
);

runnerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/release",
    tags: ["runner"],
    summary: "Hand the job back unfinished (it is requeued at once)",
    ...jobAuth,
    request: { params: JobParams, body: jsonBody(ReleaseRequest) },
    responses: { 204: { description: "Requeued" }, ...problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const refusal = await buildCoordinator(c.env, buildIdOfJob(id)).release(id, holderOf(c, c.req.valid("json")));
    if (refusal) throw refusalError(refusal);
    return c.body(null, 204);
  },
);

/** The project's secrets in the job's shape (server/secrets/project-secrets.ts decides the rules). */
async function jobSecretsOf(c: Context<AppEnv>, projectId: string, buildId: string): Promise<Job["secrets"]> {
  // An untrusted build (a fork's pull request) runs code nobody vetted: it gets no secrets at all.
  const [build] = await (await c.var.db()).select({ untrusted: builds.untrusted }).from(builds).where(eq(builds.id, buildId));
  if (build?.untrusted !== false) return [];
  const found = await projectSecrets(c.var.config, await c.var.db(), projectId);
  return Object.entries(found).map(([name, value]) => ({ name, value }));
}

/**
 * The caller's hold on the job, from its job token. A lease sent alongside (the body's, or the
 * headers') must be the token's: anything else is a stale or borrowed lease, 409.
 */
export function holderOf(c: Context<AppEnv>, lease?: Lease): Holder {
  const job = c.var.job;
  if (lease && (lease.leaseId !== job.leaseId || lease.fencingToken !== job.fencingToken)) {
    throw new SparkiError("lease_lost", { detail: "The lease sent is not the one this job token was issued for." });
  }
  return { leaseId: job.leaseId, fencingToken: job.fencingToken, runnerId: job.runnerId };
}

const LeaseHeaders = z.object({ leaseId: z.string().min(1).max(128), fencingToken: z.coerce.number().int().positive() });

/** The lease a socket or upload request carries in its headers (their bodies are not JSON). */
export function leaseHeaders(c: Context<AppEnv>): { leaseId: string; fencingToken: number } {
  const parsed = LeaseHeaders.safeParse({ leaseId: c.req.header(LEASE_ID_HEADER), fencingToken: c.req.header(FENCING_TOKEN_HEADER) });
  if (!parsed.success) throw new SparkiError("validation", { detail: `Send the lease in ${LEASE_ID_HEADER} and ${FENCING_TOKEN_HEADER}.` });
  return parsed.data;
}

/** The job's log socket: the coordinator checks the lease (and its runner) and takes the lines. */
runnerRoutes.get("/v1/runner/jobs/:id/logs", authenticateJob, async (c) => {
  const id = c.req.param("id");
  const lease = holderOf(c, leaseHeaders(c));
  const url = new URL("https://coordinator/runner");
  url.searchParams.set("job", id);
  url.searchParams.set("lease", lease.leaseId);
  url.searchParams.set("fencing", String(lease.fencingToken));
  url.searchParams.set("runner", lease.runnerId);
  const res = await buildCoordinator(c.env, buildIdOfJob(id)).fetch(url, { headers: c.req.raw.headers });
  if (res.status === 409) throw new SparkiError("lease_lost", { detail: "This runner no longer holds the job." });
  return res;
});
