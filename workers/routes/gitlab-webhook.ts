/**
 * `POST /v1/integrations/gitlab/webhook/{projectId}`: a GitLab project webhook's delivery, one URL
 * per Sparki project. No bearer token: GitLab sends the hook's secret token in clear as
 * `X-Gitlab-Token`, compared in constant time with the project's (sealed) token BEFORE the body
 * is read (server/integrations/gitlab/webhooks.ts). An unknown project, a project without a link
 * and a wrong token get the same 401 after the same work (a decoy token is opened), so the route
 * tells nobody which projects exist.
 *
 * Then the delivery id (`Idempotency-Key`, else `X-Gitlab-Event-UUID`) is recorded per project in
 * the transaction of the build it starts: a redelivery starts nothing and answers what the first
 * did. Everything legitimate but not built (other events, deleted branches and tags, branches and
 * tags outside sparki.yml `pipeline.branches` / `pipeline.tags`, closed or merged merge requests) is a 202: GitLab disables a
 * hook after repeated 4xx answers.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { BranchName } from "../../core/contracts/common.ts";
import { GitLabDeliveryResult } from "../../core/contracts/gitlab.ts";
import { SparkiError } from "../../core/errors.js";
import { checkGitUrl } from "../../core/git-url.ts";
import { gitlabLinks, projects, workspaces } from "../../server/db/schema.js";
import { openGitLabSecret } from "../../server/integrations/gitlab/link-secrets.js";
import type { MergeRequestEvent, PushEvent } from "../../server/integrations/gitlab/webhook-events.js";
import { discardBody, receiveWebhook, WebhookRejected } from "../../server/integrations/gitlab/webhooks.js";
import { type BuildProject, triggerBuild } from "../../server/use-cases/trigger-build.js";
import { claimDelivery, type DeliveryRow, DuplicateDelivery, findDelivery } from "../../server/webhooks/deliveries.js";
import type { AppEnv } from "../app-env.js";
import { audit } from "../services/audit.js";
import { json, newRouter, problems } from "./router.js";
import { branchBuilds, tagPushBuilds } from "./push-hook.js";

export const gitlabWebhookRoutes = newRouter();
const path = "/v1/integrations/gitlab/webhook/{projectId}";

gitlabWebhookRoutes.openAPIRegistry.registerPath({
  method: "post",
  path,
  tags: ["gitlab"],
  summary: "A GitLab project webhook's delivery (push and merge request events)",
  description:
    "Set up in GitLab (Settings > Webhooks) with the URL and secret token from `PUT /v1/projects/{id}/gitlab`. GitLab sends the token as `X-Gitlab-Token`; a missing or wrong one is a 401 and nothing is read or stored. A repeated `Idempotency-Key` (or `X-Gitlab-Event-UUID`) starts nothing and answers what the first delivery did. Events Sparki does not build on are answered 202 with the reason.",
  request: {
    params: z.object({ projectId: z.uuid() }),
    headers: z.object({ "x-gitlab-token": z.string(), "x-gitlab-event": z.string(), "idempotency-key": z.string().optional() }),
    body: { content: json(z.record(z.string(), z.unknown())), required: true },
  },
  responses: {
    200: { description: "The delivery was received before; nothing changed", content: json(GitLabDeliveryResult) },
    202: { description: "Received: a build started, or nothing to do (`detail` says why)", content: json(GitLabDeliveryResult) },
    ...problems(400, 401, 413),
  },
});

const decoyProject = "00000000-0000-0000-0000-000000000000";
// IV, a 64-character token's worth of ciphertext and a tag, all zero: a sealed value that never opens.
const decoySealed = btoa(String.fromCharCode(...new Uint8Array(12 + 64 + 16)));

interface Linked {
  project: BuildProject;
  gitlabProjectId: number;
  trustForks: boolean;
}

function resultOf(row: DeliveryRow, duplicate: boolean): GitLabDeliveryResult {
  return {
    delivery: row.deliveryId,
    outcome: z.enum(["started", "ignored", "failed"]).parse(row.outcome),
    detail: row.detail,
    buildId: row.buildId,
    duplicate,
  };
}

/** What to build for a push or merge request event, or why nothing. */
async function planBuild(
  c: Context<AppEnv>,
  linked: Linked,
  event: PushEvent | MergeRequestEvent,
): Promise<
  | { ignore: string }
  | { branch: string | null; tag: string | null; sha: string; gitUrl: string; untrusted: boolean; pullRequest: number | null; trigger: "push" | "pull_request" }
> {
  if (event.type === "push") {
    if (event.deleted || event.commit === null) return { ignore: `${event.ref} was deleted` };
    if (event.refType === "tag") {
      // git would refuse such a name; it never reaches a build (nor a runner's git).
      if (!BranchName.safeParse(event.refName).success) return { ignore: "the tag's name is not a valid git ref name" };
      if (!(await tagPushBuilds(c, linked.project.id, event.refName))) return { ignore: `tag ${event.refName} is not among sparki.yml pipeline.tags` };
      // `commit` is checkout_sha: for an annotated tag, the commit it points at (webhook-events.ts).
      return { branch: null, tag: event.refName, sha: event.commit, gitUrl: linked.project.gitUrl, untrusted: false, pullRequest: null, trigger: "push" };
    }
    if (!(await branchBuilds(c, linked.project.id, event.refName))) return { ignore: `branch ${event.refName} is not among sparki.yml pipeline.branches` };
    return { branch: event.refName, tag: null, sha: event.commit, gitUrl: linked.project.gitUrl, untrusted: false, pullRequest: null, trigger: "push" };
  }
  if (event.action === "closed" || event.action === "merged") return { ignore: `merge request !${event.iid} ${event.action}: nothing to build` };
  let gitUrl = linked.project.gitUrl;
  if (event.fromFork) {
    // The fork's branch lives in the fork: cloned from there, without the project's token, and
    // only from this GitLab instance.
    const fork = event.head.project.cloneUrl;
    if (!checkGitUrl(fork).ok || new URL(fork).origin !== new URL(c.var.config.GITLAB_URL).origin)
      return { ignore: `merge request !${event.iid} comes from a fork outside ${c.var.config.GITLAB_URL}` };
    gitUrl = fork;
  }
  return {
    branch: event.head.ref,
    tag: null,
    sha: event.head.sha,
    gitUrl,
    untrusted: event.fromFork && !linked.trustForks,
    pullRequest: event.iid,
    trigger: "pull_request",
  };
}

gitlabWebhookRoutes.post(path.replace("{projectId}", ":projectId"), async (c) => {
  const id = z.uuid().safeParse(c.req.param("projectId"));
  const db = await c.var.db();
  const [found] = id.success
    ? await db
        .select({
          sealed: gitlabLinks.hookTokenCiphertext,
          gitlabProjectId: gitlabLinks.gitlabProjectId,
          workspaceId: projects.workspaceId,
          gitUrl: projects.gitUrl,
          framework: projects.framework,
          trustForks: workspaces.trustForkPullRequests,
        })
        .from(gitlabLinks)
        .innerJoin(projects, eq(projects.id, gitlabLinks.projectId))
        .innerJoin(workspaces, eq(workspaces.id, projects.workspaceId))
        .where(eq(gitlabLinks.projectId, id.data))
    : [];
  // Without a link a decoy is opened (and fails) so the answer takes the same work either way.
  const opened = await openGitLabSecret(c.var.config, id.success ? id.data : decoyProject, "hook", found?.sealed ?? decoySealed);
  let received: Awaited<ReturnType<typeof receiveWebhook>>;
  try {
    received = await receiveWebhook(c.req.raw, { token: found && id.success ? opened : null, gitlabProjectId: found?.gitlabProjectId ?? null });
  } catch (err) {
    if (err instanceof WebhookRejected) {
      c.var.log.warn(`GitLab delivery refused: ${err.reason}`, { projectId: c.req.param("projectId") });
      await discardBody(c.req.raw);
    }
    throw err;
  }
  if (!found || !id.success) throw new SparkiError("unauthenticated", { detail: "No such GitLab link." });
  const projectId = id.data;
  c.var.log.fields.workspaceId = found.workspaceId;
  const { deliveryId, event } = received;
  const eventName = (event.type === "ignored" ? event.event : event.type).slice(0, 50);
  const key = { source: "gitlab" as const, deliveryId, projectId };
  const repeated = async () => {
    const original = await findDelivery(db, key);
    if (!original) throw new Error("a delivery conflicted but none is recorded");
    return c.json(resultOf(original, true), 200);
  };
  const ignore = async (detail: string) => {
    const row = await claimDelivery(db, { ...key, event: eventName, outcome: "ignored", detail });
    return row ? c.json(resultOf(row, false), 202) : repeated();
  };
  if (event.type === "ignored") return ignore(event.reason);

  const linked: Linked = {
    project: { id: projectId, workspaceId: found.workspaceId, gitUrl: found.gitUrl, framework: found.framework },
    gitlabProjectId: found.gitlabProjectId,
    trustForks: found.trustForks,
  };
  const plan = await planBuild(c, linked, event);
  if ("ignore" in plan) return ignore(plan.ignore);
  try {
    const build = await triggerBuild(c.env, db, {
      project: { ...linked.project, gitUrl: plan.gitUrl },
      branch: plan.branch,
      tag: plan.tag,
      commitSha: plan.sha,
      source: { trigger: plan.trigger, correlationId: c.var.requestId },
      traceparent: c.var.trace.traceparent,
      untrusted: plan.untrusted,
      pullRequest: plan.pullRequest,
      // A merge request's builds restore its target branch's dependency caches (server/caches/scopes.ts).
      baseBranch: event.type === "merge_request" ? event.base.ref : null,
      alongside: async (tx, row) => {
        const claimed = await claimDelivery(tx, { ...key, event: eventName, outcome: "started", buildId: row.id });
        if (!claimed) throw new DuplicateDelivery(deliveryId);
        await audit(c, tx, {
          eventType: "data",
          action: "build.trigger",
          result: "success",
          userId: null,
          workspaceId: found.workspaceId,
          resourceType: "build",
          resourceId: row.id,
          details: {
            projectId,
            via: "gitlab",
            event: eventName,
            delivery: deliveryId,
            branch: plan.branch,
            tag: plan.tag,
            commitSha: plan.sha,
            untrusted: plan.untrusted,
          },
        });
      },
    });
    return c.json({ delivery: deliveryId, outcome: "started", detail: null, buildId: build.id, duplicate: false } satisfies GitLabDeliveryResult, 202);
  } catch (err) {
    if (err instanceof DuplicateDelivery) return repeated();
    throw err;
  }
});
