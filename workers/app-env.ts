import type { Scope } from "../core/scopes.js";
import type { Cache } from "../server/cache/cache.js";
import type { Db } from "../server/db/client.js";
import type { Bindings, Config } from "../server/config.js";
import type { Logger } from "./log.js";
import type { JobHolder } from "./auth/job-tokens.js";
import type { RunnerIdentity } from "./middleware/authenticate-runner.js";
import type { TraceSpan } from "../core/tracing/context.js";

export interface AuthenticatedUser {
  id: string;
  email: string;
  name: string | null;
  createdAt: string;
}

/** Who is calling, and how they proved it. */
export interface AuthContext {
  user: AuthenticatedUser;
  via: "access-token" | "cookie" | "api-token";
  /** What the caller may do at most: an API token's scope; sessions have "admin". */
  scope: Scope;
  /** The API token's id, when the caller used one. */
  tokenId?: string;
  /** The access token's id (for logout's revocation), when the caller used one. */
  jti?: string;
  /** The access token's expiry, seconds since the epoch. */
  expiresAt?: number;
}

export type AppEnv = {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    /** The request's span (a W3C traceparent accepted from the caller, or a new trace). */
    trace: TraceSpan;
    config: Config;
    log: Logger;
    cache: Cache;
    /** Connects to Postgres on first use; one connection per request, closed after it. */
    db: () => Promise<Db>;
    auth: AuthContext;
    /** The problem code of the error answered, for the error metric. */
    errorCode: string;
    /** The runner calling a /v1/runner route. */
    runner: RunnerIdentity;
    /** The job a /v1/runner/jobs/:id route acts on, as its job token names it. */
    job: JobHolder;
    /** The workspace of the runner holding that job (null: the shared pool's). */
    jobRunnerWorkspaceId: string | null;
  };
};
