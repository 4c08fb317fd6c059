/**
 * A local fake of Railway's public GraphQL API (POST /graphql/v2), implementing only the
 * operations server/deploy/adapters/railway.ts uses, as Railway's API guides show them:
 * `serviceInstance`, `serviceInstanceDeployV2`, `deployment(id)` and `deploymentRollback`.
 *
 * It is not a GraphQL engine: it recognises each operation by its root field, validates the
 * variables with zod and answers with the documented fields. Errors come the way Railway sends
 * them: HTTP 200 with a GraphQL `errors` list ("Not Authorized" for a bad or missing bearer token,
 * "... not found" for unknown ids), HTTP 429 with Retry-After when rate limited.
 *
 * Deployments advance one documented status per `deployment` read, so tests see pending before
 * ready without sleeping: QUEUED → BUILDING → DEPLOYING → SUCCESS (or → FAILED when told to fail).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { z } from "zod";

export type RailwayStatus = "QUEUED" | "BUILDING" | "DEPLOYING" | "SUCCESS" | "FAILED" | "REMOVED";

/** One deployment as the fake holds it; tests read these directly. */
export interface FakeRailwayDeployment {
  id: string;
  serviceId: string;
  environmentId: string;
  commitSha: string | null;
  status: RailwayStatus;
  /** The statuses still ahead of it, consumed one per `deployment` read. */
  ahead: RailwayStatus[];
  /** Set when this deployment was created by `deploymentRollback` of that deployment. */
  rollbackOf: string | null;
  createdAt: string;
}

/** A request as received, for asserting headers and bodies. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
  /** The root field the request called, when it was a recognised operation. */
  operation: string | null;
}

const request = z.strictObject({
  query: z.string().min(1),
  variables: z.record(z.string(), z.unknown()).optional(),
  operationName: z.string().optional(),
});
const ids = { serviceId: z.string().min(1), environmentId: z.string().min(1) };
const VARIABLES = {
  serviceInstance: z.strictObject(ids),
  serviceInstanceDeployV2: z.strictObject({ ...ids, commitSha: z.string().min(1).nullable().optional() }),
  deployment: z.strictObject({ id: z.string().min(1) }),
  deploymentRollback: z.strictObject({ id: z.string().min(1) }),
} as const;
type Operation = keyof typeof VARIABLES;
const OPERATIONS = Object.keys(VARIABLES) as Operation[];

class GraphqlError extends Error {}

/** The fake Railway backboard. */
export class FakeRailway {
  /** Tokens it accepts as `Authorization: Bearer <token>`. */
  readonly tokens = new Set<string>(["railway-test-token"]);
  /** Service instances that exist, as `${serviceId}/${environmentId}` with a service name. */
  readonly instances = new Map<string, string>([["svc-1/env-1", "web"]]);
  readonly deployments = new Map<string, FakeRailwayDeployment>();
  readonly requests: RecordedRequest[] = [];
  private failures: { status: number; retryAfter: number | null; remaining: number } | null = null;
  private failDeploys = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Starts on a free local port; `url` is the GraphQL endpoint to give the adapter as apiUrl. */
  static async start(): Promise<FakeRailway> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeRailway(server, `http://127.0.0.1:${port}/graphql/v2`);
    server.on("connection", (s) => {
      fake.sockets.add(s);
      s.once("close", () => fake.sockets.delete(s));
    });
    server.on("request", (req, res) => void fake.handle(req, res));
    return fake;
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` requests answer with this HTTP status (429 carries Retry-After). */
  failNext(status: number, options: { times?: number; retryAfter?: number } = {}): void {
    this.failures = { status, retryAfter: options.retryAfter ?? (status === 429 ? 30 : null), remaining: options.times ?? 1 };
  }

  /** Answers normally again, whatever failures were still due (tests share one fake). */
  stopFailing(): void {
    this.failures = null;
  }

  /** The next deployment created builds and then ends FAILED. */
  failNextDeploy(): void {
    this.failDeploys += 1;
  }

  /** The deployment currently serving a service instance (SUCCESS), if any. */
  live(serviceId: string, environmentId: string): FakeRailwayDeployment | null {
    return [...this.deployments.values()].find((d) => d.serviceId === serviceId && d.environmentId === environmentId && d.status === "SUCCESS") ?? null;
  }

  /** Requests that called the given root field. */
  calls(operation: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // Recorded as text; answered below as a bad request.
    }
    const parsed = request.safeParse(body);
    const operation = parsed.success ? (OPERATIONS.find((op) => new RegExp(`\\b${op}\\s*\\(`).test(parsed.data.query)) ?? null) : null;
    this.requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, operation });

    if (this.failures && this.failures.remaining > 0) {
      const { status, retryAfter } = this.failures;
      if (--this.failures.remaining === 0) this.failures = null;
      const message = status === 429 ? "Rate limit exceeded" : "Problem processing request";
      return send(
        res,
        status,
        { errors: [{ message, extensions: { code: status === 429 ? "RATE_LIMITED" : "INTERNAL_SERVER_ERROR" } }] },
        retryAfter ? { "retry-after": String(retryAfter) } : {},
      );
    }
    if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== "/graphql/v2") return send(res, 404, { errors: [{ message: "Not Found" }] });
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return send(res, 415, { errors: [{ message: "Must provide a JSON body" }] });
    if (!parsed.success) return send(res, 400, { errors: [{ message: `Invalid request: ${z.prettifyError(parsed.error)}` }] });
    if (!operation)
      return send(res, 400, { errors: [{ message: "Cannot query field on type Query or Mutation", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }] });

    // Railway checks the token while resolving the field, and reports it as a GraphQL error.
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token || !this.tokens.has(token))
      return send(res, 200, { data: null, errors: [{ message: "Not Authorized", path: [operation], extensions: { code: "INTERNAL_SERVER_ERROR" } }] });

    const vars = VARIABLES[operation].safeParse(parsed.data.variables ?? {});
    if (!vars.success)
      return send(res, 200, {
        data: null,
        errors: [{ message: `Variable validation failed: ${z.prettifyError(vars.error)}`, extensions: { code: "BAD_USER_INPUT" } }],
      });
    try {
      return send(res, 200, { data: { [operation]: this.resolve(operation, vars.data) } });
    } catch (err) {
      if (!(err instanceof GraphqlError)) throw err;
      return send(res, 200, { data: null, errors: [{ message: err.message, path: [operation] }] });
    }
  }

  private resolve(operation: Operation, vars: Record<string, unknown>): unknown {
    const str = (key: string): string => String(vars[key]);
    switch (operation) {
      case "serviceInstance": {
        const name = this.instances.get(`${str("serviceId")}/${str("environmentId")}`);
        if (name === undefined) throw new GraphqlError("ServiceInstance not found");
        return { id: `si-${str("serviceId")}-${str("environmentId")}`, serviceName: name };
      }
      case "serviceInstanceDeployV2": {
        if (!this.instances.has(`${str("serviceId")}/${str("environmentId")}`)) throw new GraphqlError("ServiceInstance not found");
        const failing = this.failDeploys > 0;
        if (failing) this.failDeploys -= 1;
        const commitSha = typeof vars.commitSha === "string" ? vars.commitSha : null;
        return this.create(str("serviceId"), str("environmentId"), commitSha, failing ? ["BUILDING", "FAILED"] : ["BUILDING", "DEPLOYING", "SUCCESS"], null).id;
      }
      case "deployment": {
        const d = this.deployments.get(str("id"));
        if (!d) throw new GraphqlError("Deployment not found");
        this.advance(d);
        return { id: d.id, status: d.status, url: `https://${d.serviceId}.up.railway.app`, staticUrl: `${d.serviceId}.up.railway.app` };
      }
      case "deploymentRollback": {
        const target = this.deployments.get(str("id"));
        if (!target) throw new GraphqlError("Deployment not found");
        // canRollback: only a deployment that once ran has an image to go back to.
        if (target.status === "FAILED" || target.status === "QUEUED" || target.status === "BUILDING")
          throw new GraphqlError("Deployment cannot be rolled back");
        // No build: the target's image is reused, so it goes straight to deploying.
        const d = this.create(target.serviceId, target.environmentId, target.commitSha, ["DEPLOYING", "SUCCESS"], target.id);
        return { id: d.id, status: d.status };
      }
    }
  }

  private create(serviceId: string, environmentId: string, commitSha: string | null, ahead: RailwayStatus[], rollbackOf: string | null): FakeRailwayDeployment {
    const d: FakeRailwayDeployment = {
      id: randomUUID(),
      serviceId,
      environmentId,
      commitSha,
      status: "QUEUED",
      ahead,
      rollbackOf,
      createdAt: new Date().toISOString(),
    };
    this.deployments.set(d.id, d);
    return d;
  }

  private advance(d: FakeRailwayDeployment): void {
    const next = d.ahead.shift();
    if (!next) return;
    if (next === "SUCCESS") {
      // The instance serves one deployment: the one it replaces is removed.
      const previous = this.live(d.serviceId, d.environmentId);
      if (previous) previous.status = "REMOVED";
    }
    d.status = next;
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}
