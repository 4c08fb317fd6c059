/**
 * Public serving of `sparki-static` deployments: `/sites/{project id}/{stage}/…`, and each
 * deployment on its own immutable address `/sites/{project id}/@{deployment id}/…` (where health
 * checks look before any traffic goes to it). Each stage response
 * pins the visitor to the deployment it came from (a cookie per stage), so a page loaded just
 * before an alias switch still gets its own assets, and a canary visitor stays on the canary.
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { readAlias } from "../deploy/aliases.js";
import { objectKeysFor, pickDeployment, sitePrefix } from "../deploy/static-site.js";

const Params = z.object({ projectId: z.uuid(), stage: z.union([z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/).max(50), z.templateLiteral(["@", z.uuid()])]) });

async function firstObject(bucket: R2Bucket, prefix: string, path: string): Promise<R2ObjectBody | null> {
  for (const key of objectKeysFor(path)) {
    const object = await bucket.get(prefix + key);
    if (object) return object;
  }
  return null;
}

export const siteRoutes = new Hono<AppEnv>().on(["GET", "HEAD"], "/sites/:projectId/:stage/*", async (c) => {
  const parsed = Params.safeParse(c.req.param());
  if (!parsed.success) throw new SparkiError("not_found", { detail: "No such site." });
  const { projectId, stage } = parsed.data;
  const path = c.req.path.split("/").slice(4).map(decodeURIComponent).join("/");
  if (path.split("/").some((part) => part === "..")) throw new SparkiError("not_found", { detail: "No such file." });
  if (stage.startsWith("@")) return serve(c.env.ARTIFACTS, c.req.method, projectId, stage.slice(1), path, new Headers({ "x-sparki-deployment": stage.slice(1) }));
  const alias = await readAlias(c.var.db, c.var.cache, projectId, stage);
  if (!alias) throw new SparkiError("not_found", { detail: `Stage ${stage} of this project has no deployment.` });

  const cookieName = `sparki_site_${stage.replaceAll("-", "_")}`;
  const pinned = getCookie(c, cookieName);
  // A page goes to the live version (or the canary its visitor landed on); only the files a page
  // loaded before a switch asks for may still come from the version it replaced.
  const last = path.split("/").pop() ?? "";
  const page = last === "" || last.endsWith(".html") || !last.includes(".");
  const known = [alias.deploymentId, alias.canaryDeploymentId, page ? null : alias.previousDeploymentId].filter((d): d is string => d !== null);
  const chosen = pinned && known.includes(pinned) ? pinned : pickDeployment({ ...alias }, crypto.getRandomValues(new Uint32Array(1))[0]! % 100);

  let served = chosen;
  let object = await firstObject(c.env.ARTIFACTS, sitePrefix(projectId, chosen), path);
  // A pin to the replaced deployment only holds for files it has; everything else comes from the live one.
  if (!object && chosen !== alias.deploymentId) {
    served = alias.deploymentId;
    object = await firstObject(c.env.ARTIFACTS, sitePrefix(projectId, served), path);
  }
  const headers = new Headers({ "x-sparki-deployment": served });
  if (object && object.httpMetadata?.contentType?.startsWith("text/html")) {
    headers.append("set-cookie", `${cookieName}=${served}; Path=/sites/${projectId}/${stage}/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax`);
  }
  return respond(c.env.ARTIFACTS, c.req.method, projectId, served, object, headers);
});

async function serve(bucket: R2Bucket, method: string, projectId: string, deploymentId: string, path: string, headers: Headers): Promise<Response> {
  return respond(bucket, method, projectId, deploymentId, await firstObject(bucket, sitePrefix(projectId, deploymentId), path), headers);
}

/** The file, or the deployment's own 404.html (or a plain 404) when there is none. */
async function respond(bucket: R2Bucket, method: string, projectId: string, deploymentId: string, object: R2ObjectBody | null, headers: Headers): Promise<Response> {
  if (!object) {
    const notFound = await bucket.get(`${sitePrefix(projectId, deploymentId)}404.html`);
    headers.set("content-type", "text/html; charset=utf-8");
    if (method === "HEAD") await notFound?.body.cancel();
    return new Response(method === "HEAD" ? null : (notFound?.body ?? "Not found"), { status: 404, headers });
  }
  const type = object.httpMetadata?.contentType ?? "application/octet-stream";
  headers.set("content-type", type);
  headers.set("etag", object.httpEtag);
  headers.set("cache-control", type.startsWith("text/html") ? "no-cache" : "public, max-age=300");
  if (method === "HEAD") await object.body.cancel();
  return new Response(method === "HEAD" ? null : object.body, { status: 200, headers });
}
