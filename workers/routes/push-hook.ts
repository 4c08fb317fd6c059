/**
 * `POST /v1/projects/{id}/hooks/push`: a git server's signed call after a push (the post-receive
 * hook `sparki hooks install` writes, or any script). No bearer token: the caller proves itself
 * with the project's hook key, by `X-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
 *
 * Order matters. The body is read as bytes (at most {@link pushBodyMaxBytes}) and the signature
 * checked over exactly those bytes before anything is parsed. A malformed or wrong signature, an
 * unknown project and a project without a hook get one identical 401 after the same work, so the
 * route tells nobody which projects exist. Only then are the delivery id and the body read, and
 * the delivery is recorded in the same transaction as the build it starts: a repeated delivery
 * id answers with what the first one did and starts nothing.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { DeliveryId, deliveryHeader, isDeletion, PushBody, PushResult, pushBodyMaxBytes, SignatureValue, signatureHeader } from "../../core/contracts/hooks.ts";
import { SparkiError } from "../../core/errors.js";
import { branchMatches, tagBuilds } from "../../core/pipeline/branches.ts";
import { projects, pushHooks } from "../../server/db/schema.js";
import { triggerBuild } from "../../server/use-cases/trigger-build.js";
import { claimDelivery, type DeliveryRow, DuplicateDelivery, findDelivery } from "../../server/webhooks/deliveries.js";
import { verifySha256Signature } from "../../server/webhooks/hmac.js";
import { openPushHookKey } from "../../server/webhooks/push-hook-key.js";
import type { AppEnv } from "../app-env.js";
import { parseRequestPart, validationError } from "../middleware/errors.js";
import { audit } from "../services/audit.js";
import { latestPipeline } from "../services/pipelines.js";
import { json, newRouter, problems } from "./router.js";

export const pushHookRoutes = newRouter();
const path = "/v1/projects/{id}/hooks/push";

pushHookRoutes.openAPIRegistry.registerPath({
  method: "post",
  path,
  tags: ["hooks"],
  summary: "A git server's signed push: builds the pushed commit on its branch or tag",
  description: `Signed with the project's push hook key: \`X-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the exact body bytes>\`, and a fresh \`X-Sparki-Delivery\` id per call (a retried call keeps its id: a repeated id starts nothing and answers with what the first call did). \`after\` of all zeros (a deleted branch or tag) starts nothing; so does a branch that the project's sparki.yml \`pipeline.branches\` leaves out, or a tag that \`pipeline.tags\` leaves out. For \`refs/tags/<tag>\`, \`after\` is the commit the tag points at (an annotated tag peeled), and the build is a tag build of that commit. Bodies are at most ${pushBodyMaxBytes} bytes.`,
  request: {
    params: z.object({ id: z.uuid() }),
    headers: z.object({ [signatureHeader]: SignatureValue, [deliveryHeader]: DeliveryId }),
    body: { content: json(PushBody), required: true },
  },
  responses: {
    200: { description: "The delivery was received before; nothing changed", content: json(PushResult) },
    202: { description: "Received: a build started, or nothing to do (`detail` says why)", content: json(PushResult) },
    ...problems(400, 401, 413),
  },
});

const decoyProject = "00000000-0000-0000-0000-000000000000";
// IV, a 44-character key's worth of ciphertext and a tag, all zero: a sealed value that never opens.
const decoySealed = btoa(String.fromCharCode(...new Uint8Array(12 + 48 + 16)));

const refused = () =>
  new SparkiError("unauthenticated", {
    detail: "The push hook call is not signed with the project's hook key (X-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the body>).",
  });

const tooLarge = () => new SparkiError("payload_too_large", { detail: `A push hook body is at most ${pushBodyMaxBytes} bytes.` });

/** The body's bytes, refusing more than {@link pushBodyMaxBytes} without reading past them. */
async function readCapped(c: Context<AppEnv>): Promise<Uint8Array> {
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > pushBodyMaxBytes) throw tooLarge();
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > pushBodyMaxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/** Whether the project's newest pipeline (its sparki.yml `pipeline.tags`) builds a push of `tag`. */
export async function tagPushBuilds(c: Context<AppEnv>, projectId: string, tag: string): Promise<boolean> {
  return tagBuilds((await latestPipeline(c, projectId))?.configuration.triggers.tags, tag);
}

/** Whether the project's newest pipeline (its sparki.yml `pipeline.branches`) builds pushes to `branch`. */
export async function branchBuilds(c: Context<AppEnv>, projectId: string, branch: string): Promise<boolean> {
  const patterns = (await latestPipeline(c, projectId))?.configuration.triggers.branches;
  if (!patterns) return true;
  // sparki.yml documents a lone "*" as every branch; elsewhere "*" stays within one path segment.
  return patterns.some((p) => p === "*" || branchMatches(p, branch));
}

function resultOf(row: DeliveryRow, duplicate: boolean): PushResult {
  return {
    delivery: row.deliveryId,
    outcome: z.enum(["started", "ignored", "failed"]).parse(row.outcome),
    detail: row.detail,
    buildId: row.buildId,
    duplicate,
  };
}

pushHookRoutes.post(path.replace("{id}", ":id"), async (c) => {
  const body = await readCapped(c);
  const id = z.uuid().safeParse(c.req.param("id"));
  const signature = SignatureValue.safeParse(c.req.header(signatureHeader));
  if (!signature.success) throw refused();
  const db = await c.var.db();
  const [found] = id.success
    ? await db
        .select({ ciphertext: pushHooks.ciphertext, workspaceId: projects.workspaceId, gitUrl: projects.gitUrl, framework: projects.framework })
        .from(pushHooks)
        .innerJoin(projects, eq(projects.id, pushHooks.projectId))
        .where(eq(pushHooks.projectId, id.data))
    : [];
  // Without a hook a decoy is opened (and fails) so the answer takes the same work either way.
  const opened = await openPushHookKey(c.var.config, id.success ? id.data : decoyProject, found?.ciphertext ?? decoySealed);
  const key = found ? opened : null;
  if (!(await verifySha256Signature(key, body, signature.data)) || !found || !id.success) {
    c.var.log.warn("push hook call refused: bad signature, or no such hook", { projectId: c.req.param("id") });
    throw refused();
  }
  const projectId = id.data;
  c.var.log.fields.workspaceId = found.workspaceId;

  const deliveryId = parseRequestPart(DeliveryId, c.req.header(deliveryHeader), `header.${deliveryHeader}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new SparkiError("malformed_json", { detail: "The push hook body is not valid JSON." });
  }
  const push = PushBody.safeParse(parsed);
  if (!push.success) throw validationError(push.error, "body");
  const { ref, after } = push.data;
  const deliveryKey = { source: "push-hook" as const, deliveryId, projectId };

  const ignore = async (detail: string) => {
    const row = await claimDelivery(db, { ...deliveryKey, event: "push", outcome: "ignored", detail });
    return row ? c.json(resultOf(row, false), 202) : repeated();
  };
  const repeated = async () => {
    const original = await findDelivery(db, deliveryKey);
    if (!original) throw new Error("a delivery conflicted but none is recorded");
    return c.json(resultOf(original, true), 200);
  };

  if (isDeletion(after)) return ignore(`${ref} was deleted`);
  // PushedRef checked the name after refs/heads/ or refs/tags/ as git would (core/contracts/hooks.ts).
  const tag = ref.startsWith("refs/tags/") ? ref.slice("refs/tags/".length) : null;
  const branch = tag === null ? ref.slice("refs/heads/".length) : null;
  if (tag !== null && !(await tagPushBuilds(c, projectId, tag))) return ignore(`tag ${tag} is not among sparki.yml pipeline.tags`);
  if (branch !== null && !(await branchBuilds(c, projectId, branch))) return ignore(`branch ${branch} is not among sparki.yml pipeline.branches`);

  try {
    const build = await triggerBuild(c.env, db, {
      project: { id: projectId, workspaceId: found.workspaceId, gitUrl: found.gitUrl, framework: found.framework },
      branch,
      tag,
      commitSha: after,
      source: { trigger: "push", correlationId: c.var.requestId },
      traceparent: c.var.trace.traceparent,
      alongside: async (tx, row) => {
        const claimed = await claimDelivery(tx, { ...deliveryKey, event: "push", outcome: "started", buildId: row.id });
        if (!claimed) throw new DuplicateDelivery(deliveryId);
        await audit(c, tx, {
          eventType: "data",
          action: "build.trigger",
          result: "success",
          userId: null,
          workspaceId: found.workspaceId,
          resourceType: "build",
          resourceId: row.id,
          details: { projectId, via: "push-hook", delivery: deliveryId, ref, commitSha: after },
        });
      },
    });
    return c.json({ delivery: deliveryId, outcome: "started", detail: null, buildId: build.id, duplicate: false } satisfies PushResult, 202);
  } catch (err) {
    if (err instanceof DuplicateDelivery) return repeated();
    throw err;
  }
});
