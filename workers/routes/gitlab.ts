/**
 * A project's GitLab link, managed by its workspace's owners and admins: `PUT` checks that the
 * project access token reaches the GitLab project (and may post statuses), seals it, makes the
 * webhook's secret token and shows it once with the URL to paste into GitLab; `GET` says whether
 * the project is linked and what its last deliveries did (never a token); `DELETE` unlinks.
 * The deliveries themselves arrive at gitlab-webhook.ts.
 */
import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { GitLabLinkBody, GitLabLinkCreated, GitLabLinkInfo } from "../../core/contracts/gitlab.ts";
import { SparkiError } from "../../core/errors.js";
import { gitlabLinks } from "../../server/db/schema.js";
import { GitLabClient, type Project as GitLabProject } from "../../server/integrations/gitlab/api.js";
import { sameRepositoryUrl } from "../../server/integrations/gitlab/clone-credential.js";
import { GitLabApiError } from "../../server/integrations/gitlab/http.js";
import { sealGitLabSecret } from "../../server/integrations/gitlab/link-secrets.js";
import { newHookToken } from "../../server/integrations/gitlab/webhooks.js";
import { recentDeliveries } from "../../server/webhooks/deliveries.js";
import type { AppEnv } from "../app-env.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { findProject } from "../services/projects.js";
import { authedForProject, json, jsonBody, newRouter, problems } from "./router.js";

export const gitlabRoutes = newRouter();
const Params = z.object({ id: z.uuid() });
const path = "/v1/projects/{id}/gitlab";
/** The events to tick in GitLab's webhook settings. */
export const gitlabHookEvents = ["Push events", "Merge request events"];
// GitLab's Developer role: the least that may post commit statuses.
const DEVELOPER = 30;

/** The per-project URL GitLab calls: on the instance's public URL when one is set, else where this request came. */
export function gitlabWebhookUrl(c: Context<AppEnv>, projectId: string): string {
  const base = c.var.config.PUBLIC_URL ?? new URL(c.req.url).origin;
  return new URL(`/v1/integrations/gitlab/webhook/${projectId}`, base).toString();
}

const refused = (detail: string) => new SparkiError("validation", { detail });

/** The GitLab project the token reaches, or a 400 saying what GitLab refused. */
async function verifiedProject(c: Context<AppEnv>, body: GitLabLinkBody): Promise<GitLabProject> {
  const client = new GitLabClient(body.accessToken, { baseUrl: c.var.config.GITLAB_URL });
  const ref = body.projectId ?? body.path ?? "";
  try {
    return await client.getProject(ref);
  } catch (err) {
    if (!(err instanceof GitLabApiError)) throw err;
    c.var.log.warn("GitLab refused a link's access token", { status: err.status });
    if (err.status === 401) throw refused("GitLab refused the access token (401): it is wrong, expired or revoked.");
    if (err.status === 403) throw refused("GitLab refused the access token (403): give it the api and read_repository scopes.");
    if (err.status === 404) throw refused(`GitLab project ${ref} does not exist or the access token cannot see it.`);
    throw refused(`GitLab at ${c.var.config.GITLAB_URL} could not be asked (${err.status === 0 ? "no answer" : `HTTP ${err.status}`}); try again.`);
  }
}

gitlabRoutes.openapi(
  createRoute({
    method: "put",
    path,
    tags: ["gitlab"],
    summary: "Link the project to a GitLab project; the webhook's secret token is shown only in this answer",
    description:
      "The access token must be a project access token (or a token of a member) with role Developer or more and scopes `api` and `read_repository`; it is checked against GitLab and stored sealed. Linking again replaces both tokens: a webhook set up with the old secret token is refused until it is updated.",
    ...authedForProject(),
    request: { params: Params, body: jsonBody(GitLabLinkBody) },
    responses: { 201: { description: "Linked: paste the URL and token into GitLab", content: json(GitLabLinkCreated) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "hooks:manage", { type: "project", id });
    const gl = await verifiedProject(c, body);
    const level = Math.max(gl.permissions?.project_access?.access_level ?? 0, gl.permissions?.group_access?.access_level ?? 0);
    if (gl.permissions && level < DEVELOPER)
      throw refused("The access token's role in the GitLab project is below Developer, so it cannot post commit statuses.");
    // The access token is sent when this project's repository is cloned: only to GitLab's own URL.
    if (!sameRepositoryUrl(project.gitUrl, gl.http_url_to_repo))
      throw refused(`The project's git URL (${project.gitUrl}) is not the GitLab project's (${gl.http_url_to_repo}); set the project's gitUrl to it first.`);
    const hookToken = newHookToken();
    const [hookSealed, accessSealed] = await Promise.all([
      sealGitLabSecret(c.var.config, id, "hook", hookToken),
      sealGitLabSecret(c.var.config, id, "access", body.accessToken),
    ]);
    const db = await c.var.db();
    const values = {
      gitlabProjectId: gl.id,
      gitlabPath: gl.path_with_namespace,
      hookTokenCiphertext: hookSealed,
      accessTokenCiphertext: accessSealed,
      createdBy: c.var.auth.user.id,
    };
    const row = await db.transaction(async (tx) => {
      const [existing] = await tx.select({ projectId: gitlabLinks.projectId }).from(gitlabLinks).where(eq(gitlabLinks.projectId, id));
      const [saved] = await tx
        .insert(gitlabLinks)
        .values({ projectId: id, ...values })
        .onConflictDoUpdate({ target: gitlabLinks.projectId, set: { ...values, updatedAt: new Date() } })
        .returning();
      if (!saved) throw new Error("upsert returned no row");
      await audit(c, tx, {
        eventType: "data",
        action: existing ? "gitlab_link.replace" : "gitlab_link.create",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: { gitlabProjectId: gl.id, path: gl.path_with_namespace },
      });
      return saved;
    });
    return c.json(
      {
        gitlabProjectId: gl.id,
        path: gl.path_with_namespace,
        webhookUrl: gitlabWebhookUrl(c, id),
        webhookToken: hookToken,
        events: gitlabHookEvents,
        createdAt: row.updatedAt.toISOString(),
      },
      201,
    );
  },
);

gitlabRoutes.openapi(
  createRoute({
    method: "get",
    path,
    tags: ["gitlab"],
    summary: "Whether the project is linked to GitLab, and its last deliveries (never a token)",
    ...authedForProject(),
    request: { params: Params },
    responses: { 200: { description: "The GitLab link", content: json(GitLabLinkInfo) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const db = await c.var.db();
    const [[link], deliveries] = await Promise.all([
      db
        .select({
          gitlabProjectId: gitlabLinks.gitlabProjectId,
          path: gitlabLinks.gitlabPath,
          createdAt: gitlabLinks.createdAt,
          updatedAt: gitlabLinks.updatedAt,
        })
        .from(gitlabLinks)
        .where(eq(gitlabLinks.projectId, id)),
      recentDeliveries(db, id, "gitlab"),
    ]);
    return c.json(
      {
        linked: link !== undefined,
        gitlabProjectId: link?.gitlabProjectId ?? null,
        path: link?.path ?? null,
        webhookUrl: gitlabWebhookUrl(c, id),
        createdAt: link?.createdAt.toISOString() ?? null,
        updatedAt: link?.updatedAt.toISOString() ?? null,
        deliveries: deliveries.map((d) => ({
          delivery: d.deliveryId,
          event: d.event,
          outcome: z.enum(["started", "ignored", "failed"]).parse(d.outcome),
          detail: d.detail,
          buildId: d.buildId,
          receivedAt: d.receivedAt.toISOString(),
        })),
      },
      200,
    );
  },
);

gitlabRoutes.openapi(
  createRoute({
    method: "delete",
    path,
    tags: ["gitlab"],
    summary: "Unlink the project from GitLab: its webhook is refused and its tokens forgotten from now on",
    ...authedForProject(),
    request: { params: Params },
    responses: { 204: { description: "Unlinked" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "hooks:manage", { type: "project", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      const [row] = await tx.delete(gitlabLinks).where(eq(gitlabLinks.projectId, id)).returning({ projectId: gitlabLinks.projectId });
      if (!row) throw new SparkiError("not_found", { detail: "The project is not linked to GitLab." });
      await audit(c, tx, {
        eventType: "data",
        action: "gitlab_link.delete",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
      });
    });
    return c.body(null, 204);
  },
);
