import { bodyLimit } from "hono/body-limit";
import { SparkiError } from "../core/errors.js";
import { handleError, handleNotFound } from "./middleware/errors.js";
import { requestContext } from "./middleware/context.js";
import { auditLogRoutes } from "./routes/audit-logs.js";
import { authRoutes } from "./routes/auth.js";
import { healthRoutes } from "./routes/health.js";
import { hookRoutes } from "./routes/hooks.js";
import { notificationRoutes } from "./routes/notifications.js";
import { pushHookRoutes } from "./routes/push-hook.js";
import { gitlabRoutes } from "./routes/gitlab.js";
import { gitlabWebhookRoutes } from "./routes/gitlab-webhook.js";
import { githubRoutes, githubWebhookPath } from "./routes/github.js";
import { meRoutes } from "./routes/me.js";
import { identityRoutes } from "./routes/identities.js";
import { oauthRoutes } from "./routes/oauth.js";
import { memberRoutes } from "./routes/members.js";
import { buildRoutes } from "./routes/builds.js";
import { deploymentRoutes } from "./routes/deployments.js";
import { pipelineRoutes } from "./routes/pipelines.js";
import { runnerTokenRoutes } from "./routes/runner-tokens.js";
import { runnerQueueRoutes } from "./routes/runner-queue.js";
import { isArtifactUpload, runnerArtifactRoutes } from "./routes/runner-artifacts.js";
import { isCacheUpload, runnerCacheRoutes } from "./routes/runner-caches.js";
import { runnerNeedsRoutes } from "./routes/runner-needs.js";
import { runnerRoutes } from "./routes/runner.js";
import { secretRoutes } from "./routes/secrets.js";
import { metricsRoutes } from "./routes/metrics.js";
import { siteRoutes } from "./routes/sites.js";
import { stageRuleRoutes } from "./routes/stage-rules.js";
import { projectRoutes } from "./routes/projects.js";
import { retentionRoutes } from "./routes/retention.js";
import { newRouter } from "./routes/router.js";
import { tokenRoutes } from "./routes/tokens.js";
import { workspaceRoutes } from "./routes/workspaces.js";

export const maxBodyBytes = 1024 * 1024;

/** The API: every route, its middleware, and the OpenAPI document generated from the same schemas. */
export function createApp() {
  const app = newRouter();
  app.use("*", requestContext);
  const jsonBodyLimit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new SparkiError("payload_too_large", { detail: `Request bodies are limited to ${maxBodyBytes} bytes.` });
    },
  });
  // Artifact and cache uploads stream to R2 under their own limits (ARTIFACT_MAX_MIB, runner-artifacts.ts;
  // CACHE_ENTRY_MAX_MIB, runner-caches.ts).
  // GitHub deliveries are read capped at MAX_WEBHOOK_BYTES by the webhook verifier itself.
  const streamed = (method: string, path: string) => isArtifactUpload(method, path) || isCacheUpload(method, path) || path === githubWebhookPath;
  app.use("/v1/*", (c, next) => (streamed(c.req.method, c.req.path) ? next() : jsonBodyLimit(c, next)));
  for (const routes of [
    healthRoutes,
    authRoutes,
    oauthRoutes,
    meRoutes,
    identityRoutes,
    tokenRoutes,
    workspaceRoutes,
    retentionRoutes,
    memberRoutes,
    projectRoutes,
    pipelineRoutes,
    buildRoutes,
    deploymentRoutes,
    stageRuleRoutes,
    secretRoutes,
    hookRoutes,
    notificationRoutes,
    pushHookRoutes,
    gitlabRoutes,
    gitlabWebhookRoutes,
    githubRoutes,
    runnerTokenRoutes,
    runnerQueueRoutes,
    runnerRoutes,
    runnerArtifactRoutes,
    runnerCacheRoutes,
    runnerNeedsRoutes,
    auditLogRoutes,
  ]) {
    app.route("/", routes);
  }
  app.route("/", metricsRoutes);
  app.route("/", siteRoutes);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An access token from /v1/auth/login, or a personal API token (spk_…).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "runnerToken", {
    type: "http",
    scheme: "bearer",
    description: "A runner token (srn_…) from POST /v1/runner/register. It only claims.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "jobToken", {
    type: "http",
    scheme: "bearer",
    description: "The jobToken of a claimed job: every call on that job (and no other), while its lease lasts.",
  });
  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Sparki API", version: "1.0.0", description: "Zero-configuration CI/CD at the edge." },
  });
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
