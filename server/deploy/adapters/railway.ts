/**
 * Railway through its public GraphQL API (https://docs.railway.com/integrations/api), with a
 * bearer token (`Authorization: Bearer $RAILWAY_TOKEN`, an account or team token).
 *
 * Operations used, all from Railway's API guides:
 * - `serviceInstance(serviceId, environmentId)` — "Get a service instance" (manage-services):
 *   the pre-deploy check that the token reaches the service in that environment.
 * - `serviceInstanceDeployV2(serviceId, environmentId, commitSha)` — "Deploy a service"
 *   (manage-services), returns the new deployment's id. `commitSha` is an argument of the public
 *   schema (introspection; the guide's example omits it): it pins the build to the commit this
 *   pipeline built, instead of whatever the branch head is by the time Railway fetches it.
 * - `deployment(id) { id status url staticUrl }` — "Get a single deployment" (manage-deployments).
 * - `deploymentRollback(id) { id status }` — "Rollback to a deployment" (manage-deployments).
 *
 * How the artifact reaches Railway: it does not. Railway builds the service from its own source
 * connection (GitHub repo or image), so the adapter asks for a deploy of `ctx.commitSha`; for an
 * image-backed service Railway ignores the commit and redeploys the configured image.
 */
import { z } from "zod";
import {
  localProblems,
  PlatformError,
  type DeployContext,
  type PlatformAdapter,
  type PlatformDeployment,
  type PlatformState,
} from "../../../core/deploy/adapter.ts";
import { OutboundRefused } from "../../../core/net/outbound.ts";
import { PlatformClient, type Problem } from "../platform-http.ts";

/** The documented endpoint; `apiUrl` may name another only if an instance admin allows it (PLATFORM_API_OVERRIDES), as tests do for the fake. */
export const RAILWAY_API_URL = "https://backboard.railway.com/graphql/v2";

/** The secret the adapter reads its token from. */
export const RAILWAY_TOKEN = "RAILWAY_TOKEN";

/** Settings under the stage's target in sparki.yml. */
export const railwaySettings = z.strictObject({
  serviceId: z.string().min(1),
  environmentId: z.string().min(1),
  apiUrl: z.url().optional(),
});

/**
 * Statuses from "Deployment statuses" (manage-deployments) mapped to the orchestrator's three.
 * SLEEPING is a deployed app idling (serverless), so it counts as ready; REMOVED/SKIPPED mean this
 * deployment will never serve. INITIALIZING and NEEDS_APPROVAL are in the schema but not the table.
 */
const STATE_OF: Record<string, PlatformState> = {
  QUEUED: "pending",
  WAITING: "pending",
  INITIALIZING: "pending",
  NEEDS_APPROVAL: "pending",
  BUILDING: "pending",
  DEPLOYING: "pending",
  SUCCESS: "ready",
  SLEEPING: "ready",
  FAILED: "failed",
  CRASHED: "failed",
  REMOVED: "failed",
  SKIPPED: "failed",
};

/** A GraphQL answer: `data` and/or `errors` (the spec's shape, which Railway follows). */
const gqlResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullable().optional(),
  errors: z.array(z.object({ message: z.string(), extensions: z.object({ code: z.string().optional() }).loose().optional() }).loose()).optional(),
});

const deploymentNode = z.object({ id: z.string(), status: z.string(), url: z.string().nullable().optional(), staticUrl: z.string().nullable().optional() });
const deployData = z.object({ serviceInstanceDeployV2: z.string().min(1) });
const deploymentData = z.object({ deployment: deploymentNode });
const rollbackData = z.object({ deploymentRollback: z.object({ id: z.string(), status: z.string() }) });
const serviceInstanceData = z.object({ serviceInstance: z.object({ id: z.string(), serviceName: z.string().nullable().optional() }).nullable() });

const DEPLOY = `mutation serviceInstanceDeployV2($serviceId: String!, $environmentId: String!, $commitSha: String) {
  serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha)
}`;
const DEPLOYMENT = `query deployment($id: String!) {
  deployment(id: $id) { id status url staticUrl }
}`;
const ROLLBACK = `mutation deploymentRollback($id: String!) {
  deploymentRollback(id: $id) { id status }
}`;
const SERVICE_INSTANCE = `query serviceInstance($serviceId: String!, $environmentId: String!) {
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) { id serviceName }
}`;

/**
 * Railway answers most failures with HTTP 200 and a GraphQL `errors` list, a refused token as
 * "Not Authorized"; the HTTP status is only telling for rate limits and outages. So the message is
 * read for the two cases the orchestrator must tell apart (bad credentials, unknown resource).
 */
function statusOfGraphqlError(message: string, code: string | undefined): number {
  if (/not authori[sz]ed|unauthori[sz]ed/i.test(message)) return 401;
  if (/not found/i.test(message)) return 404;
  if (code === "INTERNAL_SERVER_ERROR" && /problem processing request/i.test(message)) return 500;
  return 400;
}

/**
 * Reads Railway's answer: a GraphQL `errors` list is a failure even under HTTP 200. The first
 * error speaks for the call, as the spec puts the cause first.
 */
function problemOf(status: number, body: unknown): Problem | null {
  const parsed = gqlResponse.safeParse(body);
  const first = parsed.success ? parsed.data.errors?.[0] : undefined;
  if (!first) return null;
  const code = first.extensions?.code;
  return { status: status >= 400 ? status : statusOfGraphqlError(first.message, code), message: first.message, ...(code === undefined ? {} : { code }) };
}

/**
 * One GraphQL call: POST {query, variables, operationName}. Every operation is a POST, so whether
 * it may be resent is the operation's: queries may, mutations that start a deployment may not.
 */
async function graphql<T>(
  ctx: DeployContext,
  operationName: string,
  query: string,
  variables: Record<string, unknown>,
  shape: z.ZodType<T>,
  idempotent: boolean,
): Promise<T> {
  const client = new PlatformClient(ctx, {
    platform: "railway",
    baseUrl: railwaySettings.parse(ctx.settings).apiUrl ?? RAILWAY_API_URL,
    tokenName: RAILWAY_TOKEN,
    problemOf,
  });
  const answer = await client.request({
    method: "POST",
    path: "",
    json: { query, variables, operationName },
    answer: z.object({ data: shape }),
    idempotent,
    label: operationName,
  });
  return answer.data;
}

/** The Railway adapter: deploys a service instance (service × environment) at a commit. */
export const railwayAdapter: PlatformAdapter = {
  platform: "railway",
  apiOrigin: new URL(RAILWAY_API_URL).origin,
  settings: railwaySettings,
  credentials: [RAILWAY_TOKEN],

  async validate(ctx) {
    const { problems, settings } = localProblems("railway", [RAILWAY_TOKEN], railwaySettings, ctx);
    // Without a token or ids there is nothing meaningful to ask Railway.
    if (problems.length > 0 || !settings) return problems;
    const { serviceId, environmentId } = settings;
    try {
      const data = await graphql(ctx, "serviceInstance", SERVICE_INSTANCE, { serviceId, environmentId }, serviceInstanceData, true);
      if (!data.serviceInstance) problems.push(`railway: service ${serviceId} not found in environment ${environmentId}`);
    } catch (err) {
      if (err instanceof OutboundRefused) {
        problems.push(err.message);
        return problems;
      }
      if (!(err instanceof PlatformError)) throw err;
      if (err.status === 401) problems.push(`${RAILWAY_TOKEN} was refused by Railway (${err.message})`);
      else if (err.status === 404) problems.push(`railway: service ${serviceId} not found in environment ${environmentId} (${err.message})`);
      else problems.push(err.message);
    }
    return problems;
  },

  async deploy(ctx) {
    const { serviceId, environmentId } = railwaySettings.parse(ctx.settings);
    // Sends the commit this pipeline built; the artifact URL stays unused (see the file comment).
    // Not idempotent: each call starts a deployment, so only a 429 (refused before acting) is resent.
    const data = await graphql(ctx, "serviceInstanceDeployV2", DEPLOY, { serviceId, environmentId, commitSha: ctx.commitSha }, deployData, false);
    return { id: data.serviceInstanceDeployV2, url: null };
  },

  async state(ctx, deployment) {
    const data = await graphql(ctx, "deployment", DEPLOYMENT, { id: deployment.id }, deploymentData, true);
    // A status newer than this list: Railway adds enum values without versioning, so wait rather than fail.
    return STATE_OF[data.deployment.status] ?? "pending";
  },

  async rollback(ctx, to: PlatformDeployment) {
    // Railway rolls back by starting a new deployment from the target's image and variables.
    // Not idempotent either: each rollback is a new deployment.
    const data = await graphql(ctx, "deploymentRollback", ROLLBACK, { id: to.id }, rollbackData, false);
    // The service instance keeps its domain across deployments, so the target's URL still applies.
    return { id: data.deploymentRollback.id, url: to.url };
  },
};
