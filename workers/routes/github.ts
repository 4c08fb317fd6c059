/**
 * The GitHub App (README "Connect GitHub"):
 * - `POST /v1/integrations/github/webhook`: GitHub's deliveries. The signature is checked over the
 *   raw body before anything parses it (server/integrations/github/webhooks.ts); the typed event
 *   goes on the queue and the answer is 202 at once. What it does (and the redelivery check) is
 *   server/github-app/deliver.ts, in the queue consumer.
 * - Linking a workspace: `GET …/install` (owners and admins) sends the browser to the app's install
 *   page with a signed `state`; GitHub sends it back to `GET …/setup`, which checks the state, the
 *   installation (with the app's JWT) and that the state's user is still an owner or admin, links
 *   the installation and returns to the dashboard.
 * - `GET /v1/workspaces/{id}/github/installations`, `POST /v1/workspaces/{id}/projects/github`.
 * Every route answers 404 "GitHub is not configured" when the app's vars are unset.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, eq, inArray, isNull } from "drizzle-orm";
import { z } from "zod";
import { GitHubInstallations, GitHubInstallUrl, GitHubSettings, GitHubWebhookAccepted, ImportGitHubProjectBody } from "../../core/contracts/github.ts";
import { Project } from "../../core/contracts/projects.js";
import { SparkiError } from "../../core/errors.js";
import { can, roles } from "../../core/rbac.js";
import { githubInstallationRepositories, githubInstallations, memberships, projects, workspaces } from "../../server/db/schema.js";
import { addRepositories } from "../../server/github-app/deliver.js";
import { installStateTtlSeconds, signInstallState, verifyInstallState } from "../../server/github-app/install-state.js";
import { toQueued } from "../../server/github-app/queued-event.js";
import { gitHubAppOf, requireGitHubApp } from "../../server/github-app/settings.js";
import { GitHubClient } from "../../server/integrations/github/api.ts";
import { getInstallation, mintInstallationToken } from "../../server/integrations/github/app-auth.ts";
import { GitHubApiError } from "../../server/integrations/github/http.ts";
import { receiveWebhook } from "../../server/integrations/github/webhooks.ts";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { projectView } from "../services/projects.js";
import { authed, json, jsonBody, newRouter, problems } from "./router.js";

export const githubRoutes = newRouter();
export const githubWebhookPath = "/v1/integrations/github/webhook";

githubRoutes.openAPIRegistry.registerPath({
  method: "post",
  path: githubWebhookPath,
  tags: ["github"],
  summary: "GitHub App webhook deliveries (push, pull_request, installation, installation_repositories)",
  description:
    "Signed by GitHub with the app's webhook secret (`X-Hub-Signature-256`), checked before the body is parsed. Answered 202 at once; the work runs from the queue, and a redelivered `X-GitHub-Delivery` changes nothing.",
  request: { body: { content: json(z.record(z.string(), z.unknown())), required: true } },
  responses: { 202: { description: "Verified and queued", content: json(GitHubWebhookAccepted) }, ...problems(400, 401, 404, 413) },
});

githubRoutes.post(githubWebhookPath, async (c) => {
  const app = requireGitHubApp(c.var.config);
  const { deliveryId, event } = await receiveWebhook(c.req.raw, app.webhookSecret);
  await c.env.EVENTS.send({
    type: "github.delivery",
    deliveryId,
    event: toQueued(event) as Record<string, unknown>,
    correlationId: c.var.requestId,
    occurredAt: new Date().toISOString(),
    ...(c.var.trace.traceparent ? { traceparent: c.var.trace.traceparent } : {}),
  });
  c.var.log.info(`github delivery ${deliveryId} queued (${event.type})`);
  return c.json({ delivery: deliveryId, queued: true as const }, 202);
});

githubRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/integrations/github/install",
    tags: ["github"],
    summary: "Install the GitHub App for a workspace (owners and admins): redirects to GitHub with a signed state",
    description: "Browsers get a 302 to the app's install page; a client sending `Accept: application/json` gets the URL instead.",
    ...authed,
    request: { query: z.object({ workspaceId: z.uuid() }) },
    responses: {
      200: { description: "The install URL (Accept: application/json)", content: json(GitHubInstallUrl) },
      302: { description: "To the app's install page on GitHub" },
      ...problems(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { workspaceId } = c.req.valid("query");
    const app = requireGitHubApp(c.var.config);
    await authorize(c, workspaceId, "workspace:update", { type: "workspace", id: workspaceId });
    if (!app.slug) throw new SparkiError("conflict", { detail: "GITHUB_APP_SLUG is not set: Sparki does not know the app's install page." });
    const state = await signInstallState({ workspaceId, userId: c.var.auth.user.id }, c.var.config.JWT_SECRET);
    const url = `${app.webUrl}/apps/${encodeURIComponent(app.slug)}/installations/new?state=${encodeURIComponent(state)}`;
    if ((c.req.header("accept") ?? "").includes("application/json")) return c.json({ url, expiresInSeconds: installStateTtlSeconds }, 200);
    return c.redirect(url, 302);
  },
);

/** GitHub's clock and ours may differ by a few seconds (both keep NTP time); more would widen the window. */
const installClockSkewSeconds = 30;

const SetupQuery = z.object({
  installation_id: z.coerce.number().int().positive().optional(),
  setup_action: z.enum(["install", "update", "request"]),
  state: z.string().min(1).max(2048).optional(),
});

githubRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/integrations/github/setup",
    tags: ["github"],
    summary: "The app's setup URL: GitHub returns here after an installation; links it to the state's workspace",
    description:
      "No bearer token (it is a browser redirect from GitHub): the signed `state` from `/install` names the workspace and the user, who must still be its owner or admin. The installation is checked with the app's JWT; one linked to another workspace is refused, and so is one made before the state was issued (the redirect's installation_id is not proof that the user made it).",
    request: { query: SetupQuery },
    responses: { 302: { description: "Back to the dashboard" }, ...problems(400, 403, 404, 409) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const app = requireGitHubApp(c.var.config);
    const base = c.var.config.PUBLIC_URL ?? new URL(c.req.url).origin;
    if (!query.state) throw new SparkiError("validation", { detail: "The setup redirect has no state: start the installation from Sparki (Connect GitHub)." });
    const state = await verifyInstallState(query.state, c.var.config.JWT_SECRET);
    // An owner asked to approve the install: nothing to link until they do (GitHub then sends `installation`).
    if (query.setup_action === "request" || query.installation_id === undefined)
      return c.redirect(new URL(`/w/${state.workspaceId}/projects?github=requested`, base).toString(), 302);
    const installationId = query.installation_id;
    const db = await c.var.db();
    const [member] = await db
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.workspaceId, state.workspaceId), eq(memberships.userId, state.userId)));
    const role = z.enum(roles).safeParse(member?.role);
    if (!role.success || !can(role.data, "workspace:update"))
      throw new SparkiError("forbidden", {
        detail: "Only the workspace's owners and admins link GitHub installations; the state's user is not one (any more).",
      });

    const installation = await githubCall(
      () => getInstallation(app.credentials, installationId, app.transport),
      `No installation ${installationId} of this GitHub App.`,
    );
    if (!installation.account) throw new SparkiError("validation", { detail: "The installation has no account." });
    const token = await githubCall(
      () => mintInstallationToken(app.credentials, installationId, {}, app.transport),
      `Installation ${installationId} cannot be used (suspended?).`,
    );
    const repos = await githubCall(
      () => new GitHubClient(token.token, app.transport).listInstallationRepositories(),
      "The installation's repositories could not be read.",
    );
    const account = installation.account;

    await db.transaction(async (tx) => {
      const [existing] = await tx.select().from(githubInstallations).where(eq(githubInstallations.id, installationId)).for("update");
      if (existing?.workspaceId && existing.workspaceId !== state.workspaceId && !existing.deletedAt)
        throw new SparkiError("conflict", { detail: `Installation ${installationId} is linked to another workspace; unlink it there first.` });
      // The redirect's installation_id is only a query parameter: anyone can put another account's
      // id there. The state proves who started the install, not which installation they made, so
      // only an installation born after the state was issued (the one this link led to), or one
      // this workspace already holds, is linked.
      const linkedHere = existing?.workspaceId === state.workspaceId && !existing.deletedAt;
      const bornAfterLink = Date.parse(installation.created_at) / 1000 >= state.issuedAt - installClockSkewSeconds;
      if (!linkedHere && !bornAfterLink)
        throw new SparkiError("forbidden", {
          detail: `Installation ${installationId} existed before this install link was made, so nothing proves it is yours; install the app from Sparki's link (Connect GitHub) to link a new installation.`,
        });
      const now = new Date();
      const values = {
        accountLogin: account.login,
        accountType: account.type,
        repositorySelection: installation.repository_selection,
        workspaceId: state.workspaceId,
        linkedBy: state.userId,
        linkedAt: now,
        suspendedAt: installation.suspended_at ? new Date(installation.suspended_at) : null,
        deletedAt: null,
        updatedAt: now,
      };
      await tx
        .insert(githubInstallations)
        .values({ id: installationId, ...values })
        .onConflictDoUpdate({ target: githubInstallations.id, set: values });
      await addRepositories(
        tx,
        installationId,
        repos.map((r) => ({ id: r.id, fullName: r.full_name, private: r.private })),
      );
      await audit(c, tx, {
        eventType: "data",
        action: "github_installation.link",
        result: "success",
        userId: state.userId,
        workspaceId: state.workspaceId,
        resourceType: "github_installation",
        // audit_logs.resource_id is a uuid: GitHub's numeric id goes in the details.
        details: { installationId, account: account.login },
      });
    });
    return c.redirect(new URL(`/w/${state.workspaceId}/projects?github=linked`, base).toString(), 302);
  },
);

/** A GitHub call whose 404 (or 403) means "not there for this app", any other failure a 503-like error. */
async function githubCall<T>(call: () => Promise<T>, notFoundDetail: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GitHubApiError && (err.status === 404 || err.status === 403 || err.status === 422))
      throw new SparkiError("not_found", { detail: notFoundDetail, cause: err });
    throw unreachable(err);
  }
}

/** GitHub failed or did not answer: a clear problem, never an opaque 500 (errors.ts has no 502 code yet). */
function unreachable(err: unknown): unknown {
  if (!(err instanceof GitHubApiError)) return err;
  const answer = err.status === 0 ? "did not answer" : `answered ${err.status}`;
  return new SparkiError("conflict", { detail: `GitHub ${answer}; try again shortly.`, cause: err });
}

const WorkspaceParams = z.object({ id: z.uuid() });

githubRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/github/installations",
    tags: ["github"],
    summary: "The GitHub App installations linked to the workspace, with the repositories each may use",
    ...authed,
    request: { params: WorkspaceParams },
    responses: { 200: { description: "Linked installations", content: json(GitHubInstallations) }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await authorize(c, id, "workspace:read", { type: "workspace", id });
    const db = await c.var.db();
    const [ws] = await db.select({ trust: workspaces.trustForkPullRequests }).from(workspaces).where(eq(workspaces.id, id));
    // Asked by every dashboard visit to a projects page: "not configured" is an answer, not an error.
    if (gitHubAppOf(c.var.config) === null) return c.json({ configured: false, items: [], trustForkPullRequests: ws?.trust ?? false }, 200);
    const rows = await db
      .select()
      .from(githubInstallations)
      .where(and(eq(githubInstallations.workspaceId, id), isNull(githubInstallations.deletedAt)))
      .orderBy(githubInstallations.id);
    const repos = rows.length
      ? await db
          .select()
          .from(githubInstallationRepositories)
          .where(
            inArray(
              githubInstallationRepositories.installationId,
              rows.map((r) => r.id),
            ),
          )
          .orderBy(githubInstallationRepositories.fullName)
      : [];
    const items = rows.map((r) => ({
      id: r.id,
      accountLogin: r.accountLogin,
      accountType: r.accountType,
      repositorySelection: r.repositorySelection,
      suspended: r.suspendedAt !== null,
      linkedAt: r.linkedAt?.toISOString() ?? null,
      repositories: repos.filter((x) => x.installationId === r.id).map((x) => ({ id: x.repositoryId, fullName: x.fullName, private: x.private })),
    }));
    return c.json({ configured: true, items, trustForkPullRequests: ws?.trust ?? false }, 200);
  },
);

githubRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/workspaces/{id}/projects/github",
    tags: ["github", "projects"],
    summary: "Import a repository from a GitHub installation linked to the workspace: its clone URL and default branch come from GitHub",
    ...authed,
    request: { params: WorkspaceParams, body: jsonBody(ImportGitHubProjectBody) },
    responses: { 201: { description: "The project", content: json(Project) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id: workspaceId } = c.req.valid("param");
    const body = c.req.valid("json");
    const app = requireGitHubApp(c.var.config);
    await authorize(c, workspaceId, "project:create", { type: "workspace", id: workspaceId });
    const db = await c.var.db();
    const [owner = "", repo = ""] = body.repository.split("/");
    const linked = await db
      .select({ id: githubInstallations.id, accountLogin: githubInstallations.accountLogin })
      .from(githubInstallations)
      .where(and(eq(githubInstallations.workspaceId, workspaceId), isNull(githubInstallations.deletedAt), isNull(githubInstallations.suspendedAt)));
    // The installation on the repository's owner reaches it, if any does: GitHub decides, with that installation's token.
    const candidates = [...linked].sort(
      (a, b) => Number(b.accountLogin.toLowerCase() === owner.toLowerCase()) - Number(a.accountLogin.toLowerCase() === owner.toLowerCase()),
    );
    let found: { installationId: number; repository: Awaited<ReturnType<GitHubClient["getRepository"]>> } | null = null;
    for (const inst of candidates) {
      try {
        const token = await mintInstallationToken(app.credentials, inst.id, {}, app.transport);
        found = { installationId: inst.id, repository: await new GitHubClient(token.token, app.transport).getRepository(owner, repo) };
        break;
      } catch (err) {
        if (!(err instanceof GitHubApiError) || ![403, 404, 422].includes(err.status)) throw unreachable(err);
      }
    }
    if (!found)
      throw new SparkiError("not_found", {
        detail: `No GitHub installation linked to this workspace can see ${body.repository}; install the app on it (or add the repository to the installation).`,
      });
    const { installationId, repository } = found;
    const name = body.name ?? repository.name;
    const row = await db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(projects)
        .values({
          workspaceId,
          name,
          gitUrl: repository.clone_url,
          defaultBranch: repository.default_branch,
          githubInstallationId: installationId,
          githubRepositoryId: repository.id,
          githubFullName: repository.full_name,
        })
        .onConflictDoNothing()
        .returning();
      if (!inserted) throw new SparkiError("conflict", { detail: `A project named '${name}' already exists in this workspace.` });
      await addRepositories(tx, installationId, [{ id: repository.id, fullName: repository.full_name, private: repository.private }]);
      await audit(c, tx, {
        eventType: "data",
        action: "project.create",
        result: "success",
        workspaceId,
        resourceType: "project",
        resourceId: inserted.id,
        details: { name, github: repository.full_name, installationId },
      });
      return inserted;
    });
    return c.json(projectView(row), 201);
  },
);

githubRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/v1/workspaces/{id}/github",
    tags: ["github"],
    summary: "Whether pull requests from forks build with secrets and may deploy (owners and admins; off by default)",
    description:
      "Off, a fork's pull request builds `untrusted`: its jobs get none of the project's secrets and it never deploys. Anyone can open a pull request from a fork, so turn it on only for repositories whose forks you trust.",
    ...authed,
    request: { params: WorkspaceParams, body: jsonBody(GitHubSettings) },
    responses: { 200: { description: "The setting", content: json(GitHubSettings) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { trustForkPullRequests } = c.req.valid("json");
    requireGitHubApp(c.var.config);
    await authorize(c, id, "workspace:update", { type: "workspace", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      await tx.update(workspaces).set({ trustForkPullRequests, updatedAt: new Date() }).where(eq(workspaces.id, id));
      // A trust decision: audited on its own.
      await audit(c, tx, {
        eventType: "data",
        action: "workspace.trust_fork_pull_requests",
        result: "success",
        workspaceId: id,
        resourceType: "workspace",
        resourceId: id,
        details: { trustForkPullRequests },
      });
    });
    return c.json({ trustForkPullRequests }, 200);
  },
);
