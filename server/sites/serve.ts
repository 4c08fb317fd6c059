/**
 * Serves one request of a `sparki-static` site, given the site (project and stage, or one
 * deployment) and the path. Used by the Worker for requests on the sites origin and by the
 * deployment orchestrator's health checks, in process; both go through the same path
 * normalisation, so a path can only ever name a file of that site (`/../../v1/me` is the site's
 * own `/v1/me`), never an API route.
 *
 * A stage request pins its visitor to the deployment it came from (a host-only cookie), so a page
 * loaded just before an alias switch still gets its own assets, and a canary visitor stays on the
 * canary. A deleted project serves nothing: every request asks for the project's site entry
 * (aliases.ts), which the deletion drops.
 */
import type { Cache } from "../cache/cache.js";
import type { Db } from "../db/client.js";
import { readSite } from "../deploy/aliases.js";
import { objectKeysFor, pickDeployment } from "../deploy/static-site.js";
import type { SiteTarget } from "./hosts.js";
import { sitePrefix } from "../r2-keys.js";

export interface SiteDeps {
  bucket: R2Bucket;
  db: () => Promise<Db>;
  cache: Cache;
}

export interface SiteRequest {
  method: string;
  /** The request's path as sent (percent-encoded). */
  path: string;
  /** The visitor's pin cookie, if any. */
  pinned?: string | null;
}

export const pinCookie = "__Host-sparki_pin";

/**
 * Every site response carries these. The CSP grants nothing beyond the site's own origin (plus
 * data:/blob: for media), so it can never grant the API's origin whatever that is; `sandbox`
 * without `allow-top-navigation` keeps a framed site from navigating the page around it.
 */
export const siteSecurityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "media-src 'self' data: blob:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "sandbox allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
};

/**
 * The file path a request path names inside the site: percent-decoded, `.` and `..` resolved
 * against the site's root (never above it), a trailing `/` kept. Null when a segment cannot name
 * a file (bad percent-encoding, an encoded `/` or `\`, control characters).
 */
export function sitePath(requestPath: string): string | null {
  const segments = requestPath.split("/");
  const out: string[] = [];
  let directory = true;
  for (const raw of segments) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (/[\x00-\x1f\x7f/\\]/.test(segment)) return null;
    directory = segment === "" || segment === "." || segment === "..";
    if (segment === "..") out.pop();
    else if (!directory) out.push(segment);
  }
  return out.join("/") + (directory && out.length > 0 ? "/" : "");
}

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { ...siteSecurityHeaders, "content-type": "text/plain; charset=utf-8", ...extra } });
}

async function firstObject(bucket: R2Bucket, prefix: string, path: string): Promise<R2ObjectBody | null> {
  for (const key of objectKeysFor(path)) {
    const object = await bucket.get(prefix + key);
    if (object) return object;
  }
  return null;
}

/** Answers one site request: the file, the deployment's 404.html, or a plain 404. */
export async function serveSite(deps: SiteDeps, target: SiteTarget, request: SiteRequest): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") return plain(405, "Method not allowed", { allow: "GET, HEAD" });
  const path = sitePath(request.path);
  if (path === null) return plain(404, "Not found");
  const site = await readSite(deps.db, deps.cache, target.projectId);
  if (!site) return plain(404, "No such site");
  const { bucket } = deps;
  if ("deploymentId" in target) {
    const object = await firstObject(bucket, sitePrefix(target.projectId, target.deploymentId), path);
    return respond(bucket, request.method, target.projectId, target.deploymentId, object, new Headers());
  }

  const alias = site.aliases[target.stage];
  if (!alias) return plain(404, `Stage ${target.stage} of this project has no deployment`);
  // A page goes to the live version (or the canary its visitor landed on); only the files a page
  // loaded before a switch asks for may still come from the version it replaced.
  const last = path.split("/").pop() ?? "";
  const page = last === "" || last.endsWith(".html") || !last.includes(".");
  const known = [alias.deploymentId, alias.canaryDeploymentId, page ? null : alias.previousDeploymentId].filter((d): d is string => d !== null);
  const pinned = request.pinned;
  const chosen = pinned && known.includes(pinned) ? pinned : pickDeployment({ ...alias }, (crypto.getRandomValues(new Uint32Array(1))[0] ?? 0) % 100);

  let served = chosen;
  let object = await firstObject(bucket, sitePrefix(target.projectId, chosen), path);
  // A pin to the replaced deployment only holds for files it has; everything else comes from the live one.
  if (!object && chosen !== alias.deploymentId) {
    served = alias.deploymentId;
    object = await firstObject(bucket, sitePrefix(target.projectId, served), path);
  }
  const headers = new Headers();
  if (object?.httpMetadata?.contentType?.startsWith("text/html")) {
    headers.append("set-cookie", `${pinCookie}=${served}; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax`);
  }
  return respond(bucket, request.method, target.projectId, served, object, headers);
}

async function respond(
  bucket: R2Bucket,
  method: string,
  projectId: string,
  deploymentId: string,
  object: R2ObjectBody | null,
  headers: Headers,
): Promise<Response> {
  for (const [name, value] of Object.entries(siteSecurityHeaders)) headers.set(name, value);
  headers.set("x-sparki-deployment", deploymentId);
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
