import type { z } from "zod";
import { Problem } from "../core/contracts/common.ts";
import { UserError } from "../node/user-error.ts";

/** Exit codes shared by every command. */
export const EXIT = { general: 1, usage: 2, auth: 3, notFound: 4 } as const;

/** An answer other than 2xx, carrying the problem document when there was one. */
export class ApiError extends UserError {
  constructor(
    readonly status: number,
    detail: string,
    readonly problem?: Problem,
  ) {
    super(detail, status === 401 ? EXIT.auth : status === 404 ? EXIT.notFound : EXIT.general);
  }
}

function describeProblem(status: number, body: string, what: string): ApiError {
  try {
    const problem = Problem.parse(JSON.parse(body));
    const fields = problem.errors?.length ? ` (${problem.errors.map((e) => `${e.pointer || "body"}: ${e.message}`).join("; ")})` : "";
    let detail = `${problem.detail ?? problem.title}${fields}`;
    if (status === 401) detail += "; run 'sparki login'";
    return new ApiError(status, detail, problem);
  } catch {
    return new ApiError(status, `${what} answered ${status}${status === 401 ? "; run 'sparki login'" : ""}`);
  }
}

export interface ClientOptions {
  url: string;
  token?: string;
  /** Injected in tests. */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | undefined>;

/**
 * The REST API, every answer parsed with the same zod schema the server validates against.
 * Network failures and 503s are retried a few times with backoff (idempotent methods only).
 */
export class ApiClient {
  readonly url: string;
  readonly token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.token = options.token;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Same server, another token (login trades a session for an API token). */
  withToken(token: string): ApiClient {
    return new ApiClient({ url: this.url, token, fetch: this.#fetch });
  }

  requireToken(): string {
    if (!this.token) throw new UserError("not logged in; run 'sparki login' or set SPARKI_TOKEN", EXIT.auth);
    return this.token;
  }

  async #send(method: string, path: string, body: unknown, query?: Query, auth = true): Promise<Response> {
    const target = new URL(this.url + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") target.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: "application/json" };
    if (auth) headers.authorization = `Bearer ${this.requireToken()}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const retries = method === "GET" || method === "PUT" || method === "DELETE" ? 3 : 0;
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await this.#fetch(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      } catch (err) {
        if (attempt >= retries) throw new UserError(`cannot reach ${this.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
      }
      if (res && (res.status !== 503 || attempt >= retries)) return res;
      if (res) await res.body?.cancel();
      const retryAfter = Number(res?.headers.get("retry-after"));
      await new Promise((r) => setTimeout(r, retryAfter > 0 ? Math.min(retryAfter, 5) * 1000 : Math.random() * 250 * 2 ** attempt));
    }
  }

  /** A JSON call; `schema` parses the 2xx answer. */
  async call<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T,
    options: { body?: unknown; query?: Query; auth?: boolean } = {},
  ): Promise<z.infer<T>> {
    const res = await this.#send(method, path, options.body, options.query, options.auth ?? true);
    const text = await res.text();
    if (!res.ok) throw describeProblem(res.status, text, `${method} ${path}`);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new UserError(`${method} ${path} answered something that is not JSON; is ${this.url} a Sparki server?`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new UserError(
        `${method} ${path} answered an unexpected shape (${parsed.error.issues[0]?.message ?? "invalid"} at ${parsed.error.issues[0]?.path.join(".") ?? ""}); is the CLI older than the server?`,
      );
    return parsed.data;
  }

  /** A call answered with 204 and no body. */
  async send(method: string, path: string, body?: unknown): Promise<void> {
    const res = await this.#send(method, path, body);
    const text = await res.text();
    if (!res.ok) throw describeProblem(res.status, text, `${method} ${path}`);
  }

  /** A plain-text answer, as a stream (logs.txt can be large). */
  async stream(path: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#send("GET", path, undefined);
    if (!res.ok || !res.body) throw describeProblem(res.status, await res.text(), `GET ${path}`);
    return res.body;
  }

  /** `ws://…` for a path on this server. */
  socketUrl(path: string): string {
    return this.url.replace(/^http/, "ws") + path;
  }
}
