import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { errorTitle, problemType, SparkiError, type ErrorCode, type FieldError } from "../../core/errors.js";
import type { Problem } from "../../core/contracts/common.js";
import type { AppEnv } from "../app-env.js";
import { sqlState } from "../../server/db/client.js";
import { describeError } from "../log.js";

/** Turns a zod failure on one part of the request into a 400 with one entry per bad field. */
export function validationError(error: ZodError, target: string): SparkiError {
  const errors: FieldError[] = error.issues.map((issue) => {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      return { pointer: [target, ...path].join("."), message: `unknown field(s): ${issue.keys.join(", ")}` };
    }
    return { pointer: [target, ...path].join("."), message: issue.message };
  });
  const where = target === "json" ? "body" : target;
  return new SparkiError("validation", { detail: `The request ${where} has ${errors.length} invalid field(s).`, errors });
}

/** Parses one part of a request outside the OpenAPI validators (sockets, streams): a failure is a 400, never a 500. */
export function parseRequestPart<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: ZodError } },
  value: unknown,
  target: string,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, target);
  return parsed.data;
}

function toSparkiError(err: unknown): SparkiError | undefined {
  if (err instanceof SparkiError) return err;
  if (err instanceof HTTPException) {
    // Hono raises these for unparsable JSON bodies and for the body size limit.
    const code: ErrorCode =
      err.status === 413 ? "payload_too_large" : err.status === 400 ? "malformed_json" : err.status === 401 ? "unauthenticated" : "validation";
    return new SparkiError(code, { detail: err.message, cause: err });
  }
  // A handler's decodeURIComponent of a path or query part that is not valid percent-encoding.
  if (err instanceof URIError) return new SparkiError("validation", { detail: "The URL has malformed percent-encoding.", cause: err });
  const state = sqlState(err);
  // Text Postgres cannot store or read (a NUL byte, a lone surrogate in JSON) that a schema let through.
  if (state === "22021" || state === "22P05" || state === "22P02")
    return new SparkiError("validation", { detail: "The request holds characters that cannot be stored.", cause: err });
  if (state === "23505") return new SparkiError("conflict", { detail: "A record with these values already exists.", cause: err });
  if (state?.startsWith("08") || state?.startsWith("57P")) {
    return new SparkiError("database_unavailable", { detail: "Postgres could not be reached; try again shortly.", retryAfter: 5, cause: err });
  }
  return undefined;
}

/** Renders a problem document (RFC 9457). */
export function problemResponse(c: Context<AppEnv>, error: SparkiError): Response {
  c.set("errorCode", error.code);
  const body: Problem = {
    type: problemType(error.code),
    title: errorTitle(error.code),
    status: error.status,
    instance: c.get("requestId") ?? "unknown",
  };
  if (error.detail) body.detail = error.detail;
  if (error.errors) body.errors = error.errors;
  const headers: Record<string, string> = { "Content-Type": "application/problem+json" };
  if (error.retryAfter !== undefined) headers["Retry-After"] = String(error.retryAfter);
  if (error.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="sparki"';
  return c.body(JSON.stringify(body), error.status as 400, headers);
}

/** app.onError: known errors become their problem; anything else an opaque 500 with the request id. */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  const known = toSparkiError(err);
  const log = c.get("log");
  if (known) {
    if (known.status >= 500) log?.error(known.message, describeError(err));
    return problemResponse(c, known);
  }
  log?.error("unhandled error", describeError(err));
  return problemResponse(c, new SparkiError("internal", { detail: "Something went wrong on our side; quote the request id when reporting it." }));
}

export function handleNotFound(c: Context<AppEnv>): Response {
  return problemResponse(c, new SparkiError("not_found", { detail: `No route for ${c.req.method} ${c.req.path}.` }));
}
