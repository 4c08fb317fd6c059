/**
 * One error model for the whole platform. Every failure the API reports carries a code from
 * {@link ErrorCode}; {@link errorStatus} maps each code to exactly one HTTP status, so the
 * mapping is total and checked by the compiler.
 */
export const ErrorCode = {
  validation: "validation",
  malformedJson: "malformed_json",
  unauthenticated: "unauthenticated",
  invalidCredentials: "invalid_credentials",
  invalidToken: "invalid_token",
  forbidden: "forbidden",
  stageRule: "stage_rule",
  notFound: "not_found",
  conflict: "conflict",
  lastOwner: "last_owner",
  leaseLost: "lease_lost",
  payloadTooLarge: "payload_too_large",
  rateLimited: "rate_limited",
  databaseUnavailable: "database_unavailable",
  upstreamUnavailable: "upstream_unavailable",
  internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const statusByCode = {
  validation: 400,
  malformed_json: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  forbidden: 403,
  stage_rule: 403,
  not_found: 404,
  conflict: 409,
  last_owner: 409,
  lease_lost: 409,
  payload_too_large: 413,
  rate_limited: 429,
  database_unavailable: 503,
  upstream_unavailable: 503,
  internal: 500,
} as const satisfies Record<ErrorCode, number>;

const titleByCode = {
  validation: "The request is not valid",
  malformed_json: "The request body is not valid JSON",
  unauthenticated: "Authentication is required",
  invalid_credentials: "The email or password is wrong",
  invalid_token: "The token is not valid",
  forbidden: "Your role does not allow this",
  stage_rule: "A deployment rule of the stage refuses this",
  not_found: "Not found",
  conflict: "The request conflicts with existing data",
  last_owner: "A workspace must keep at least one owner",
  lease_lost: "The runner no longer holds this job",
  payload_too_large: "The request body is too large",
  rate_limited: "Too many requests",
  database_unavailable: "The database is unreachable",
  upstream_unavailable: "A service this needs (e.g. the git host) did not answer",
  internal: "Internal error",
} as const satisfies Record<ErrorCode, string>;

/** HTTP status for an error code. */
export function errorStatus(code: ErrorCode): number {
  return statusByCode[code];
}

/** Short, stable, human title for an error code (the problem's `title`). */
export function errorTitle(code: ErrorCode): string {
  return titleByCode[code];
}

/** One invalid field of a request, as reported in a problem's `errors`. */
export interface FieldError {
  /** Where the field is: `body.email`, `query.limit`, `path.id`. */
  pointer: string;
  message: string;
}

export interface SparkiErrorOptions {
  detail?: string;
  errors?: FieldError[];
  /** Seconds after which a retry makes sense (sent as Retry-After). */
  retryAfter?: number;
  cause?: unknown;
}

/** The base error: anything thrown as a SparkiError reaches the client as problem+json. */
export class SparkiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, options: SparkiErrorOptions = {}) {
    super(options.detail ?? errorTitle(code), { cause: options.cause });
    this.name = "SparkiError";
    this.code = code;
    this.status = errorStatus(code);
    this.detail = options.detail;
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
  }
}

/** The `type` URI of a problem document: stable, one per code. */
export function problemType(code: ErrorCode): string {
  return `https://sparki.dev/problems/${code.replaceAll("_", "-")}`;
}
