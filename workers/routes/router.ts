import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { Problem } from "../../core/contracts/common.js";
import { errorTitle, type ErrorCode } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { keys } from "../../server/cache/keys.js";
import { authenticate, authenticateWith, type Prefetch } from "../middleware/authenticate.js";
import { validationError } from "../middleware/errors.js";

/** A router whose request validation failures become 400 problems with per-field errors. */
export function newRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target === "json" ? "body" : result.target);
    },
  });
}

export const json = <T>(schema: T) => ({ "application/json": { schema } });
export const jsonBody = <T>(schema: T) => ({ content: json(schema), required: true as const });

const exampleCode: Record<number, ErrorCode> = {
  400: "validation",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  429: "rate_limited",
  503: "database_unavailable",
};

/** Documents the problem responses a route can give. */
export function problems(...statuses: (keyof typeof exampleCode)[]) {
  const out: Record<number, { description: string; content: { "application/problem+json": { schema: typeof Problem } } }> = {};
  for (const status of [...statuses, 503]) {
    const code = exampleCode[status];
    out[status] = { description: code ? errorTitle(code) : "Error", content: { "application/problem+json": { schema: Problem } } };
  }
  return out;
}

/** For routes that need a caller: documents the bearer scheme and runs authentication first. */
export const authed = { security: [{ bearerAuth: [] }], middleware: [authenticate] };

/** Like {@link authed}, also fetching the cache keys the route will read in the same round trip. */
export function authedWith(prefetch: Prefetch) {
  return { security: [{ bearerAuth: [] }], middleware: [authenticateWith(prefetch)] };
}

const projectId = z.uuid();

/**
 * For `/v1/projects/{id}…` routes: every one reads the project's metadata to find its workspace,
 * so it is fetched with the caller's entries, along with any `more` keys of that project.
 */
export function authedForProject(...more: ((projectId: string) => string)[]) {
  return authedWith((c) => {
    const id = c.req.param("id");
    return id && projectId.safeParse(id).success ? [keys.project(id), ...more.map((key) => key(id))] : [];
  });
}
