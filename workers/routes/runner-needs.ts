/**
 * The artifacts a job may download: those uploaded by the jobs it `needs`, in its own build. The
 * job, its build and its needs come from the coordinator (checked against the job's lease), never
 * from the request, so a job token reaches no other build's, project's or workspace's artifacts,
 * nor those of a job of its build it does not need. A download streams from R2 through the Worker,
 * or redirects to a presigned R2 URL when R2's S3 credentials are configured; the runner checks
 * its size and SHA-256 either way.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { ArtifactName, Lease, NeededArtifactsResponse, type NeededArtifact } from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { presignGet, s3SettingsOf } from "../artifacts/presign.js";
import { authenticateJob } from "../middleware/authenticate-runner.js";
import { buildIdOfJob, refusalError } from "../services/builds.js";
import { json, jsonBody, newRouter, problems } from "./router.js";
import { holderOf, leaseHeaders } from "./runner.js";
import { buildCoordinator } from "../../server/objects/clients.js";
import { artifactKey, artifactPrefix } from "../../server/r2-keys.js";

export const runnerNeedsRoutes = newRouter();

const JobParams = z.object({ id: z.string().min(1).max(128) });
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** The job's project and build and the jobs it needs, once the coordinator has checked the lease. */
async function needsOf(c: Context<AppEnv>, jobId: string, lease: Lease) {
  const buildId = buildIdOfJob(jobId);
  const owner = await buildCoordinator(c.env, buildId).checkLease(jobId, holderOf(c, lease));
  if ("refused" in owner) throw refusalError(owner);
  return { projectId: owner.projectId, buildId, needs: new Set(owner.needs) };
}

/** The stored object as a needed artifact, or null when it is not one this job may have. */
function neededArtifact(name: string, meta: Record<string, string> | undefined, size: number, needs: ReadonlySet<string>): NeededArtifact | null {
  // Objects stored before uploads named their job in lowercase said `jobId`.
  const jobId = meta?.jobid ?? meta?.jobId;
  const kind = meta?.kind === "directory" ? "directory" : meta?.kind === "file" ? "file" : null;
  const sha256 = Sha256.safeParse(meta?.sha256);
  if (!jobId || !needs.has(jobId) || !kind || !sha256.success || !ArtifactName.safeParse(name).success) return null;
  return { name, jobId, kind, size, sha256: sha256.data };
}

runnerNeedsRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/needs/artifacts",
    tags: ["runner"],
    summary: "The artifacts of the jobs this job needs, in its build: name, uploading job, kind, size and SHA-256",
    security: [{ jobToken: [] }],
    middleware: [authenticateJob],
    request: { params: JobParams, body: jsonBody(Lease.strict()) },
    responses: { 200: { description: "The artifacts", content: json(NeededArtifactsResponse) }, ...problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { projectId, buildId, needs } = await needsOf(c, id, c.req.valid("json"));
    const items: NeededArtifact[] = [];
    if (needs.size === 0) return c.json({ items }, 200);
    const prefix = artifactPrefix(projectId, buildId);
    let cursor: string | undefined;
    do {
      // `include` is in R2's API (without it a listing has no custom metadata) but not in these workers-types.
      const options: R2ListOptions & { include: string[] } = { prefix, cursor, include: ["customMetadata"] };
      const page = await c.env.ARTIFACTS.list(options);
      for (const o of page.objects) {
        const found = neededArtifact(o.key.slice(prefix.length), o.customMetadata, o.size, needs);
        if (found) items.push(found);
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor && items.length < 1000);
    return c.json({ items: items.slice(0, 1000) }, 200);
  },
);

/** One needed artifact's bytes, streamed from R2 (or a redirect to a presigned R2 URL). */
runnerNeedsRoutes.get("/v1/runner/jobs/:id/needs/artifacts/:name{.+}", authenticateJob, async (c) => {
  const id = c.req.param("id");
  const name = ArtifactName.safeParse(decodeURIComponent(c.req.param("name")));
  if (!name.success) throw new SparkiError("not_found", { detail: "No such artifact." });
  const { projectId, buildId, needs } = await needsOf(c, id, leaseHeaders(c));
  const key = artifactKey(projectId, buildId, name.data);
  const head = await c.env.ARTIFACTS.head(key);
  const found = head ? neededArtifact(name.data, head.customMetadata, head.size, needs) : null;
  // A job this one does not need, or no such artifact: the same answer.
  if (!found) throw new SparkiError("not_found", { detail: `No artifact ${name.data} of a job this job needs.` });
  const s3 = s3SettingsOf(c.var.config);
  // With R2's S3 credentials the bytes go straight from R2 to the runner (which follows the
  // redirect without its job token, and checks size and SHA-256 all the same).
  if (s3) return c.redirect(await presignGet(s3, key, 300), 302);
  const object = await c.env.ARTIFACTS.get(key);
  if (!object) throw new SparkiError("not_found", { detail: `No artifact ${name.data} of a job this job needs.` });
  return new Response(object.body, {
    headers: { "content-type": "application/octet-stream", "content-length": String(object.size), "sparki-artifact-sha256": found.sha256 },
  });
});
