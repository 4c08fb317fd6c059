/**
 * What a GitHub delivery does, run by the queue consumer (workers/queue.ts) after the webhook
 * route verified it and answered 202. Every delivery is recorded in webhook_deliveries (source
 * `github`) in the same transaction as what it changes, so a redelivered one (or a queue retry)
 * finds the first one's row and changes nothing.
 *
 * - installation / installation_repositories: the installation's state and its repositories.
 * - push (branches and tags) and pull_request opened / synchronize / reopened: a build of exactly
 *   the pushed commit (a tag's: the commit it points at) or the pull request's head, for every project that imported the repository in the
 *   workspace linked to the installation. Nobody linked or imported it: recorded as ignored.
 * - A pull request from a fork builds `untrusted` (no secrets, no deployments) unless its
 *   workspace trusts fork pull requests.
 * - pull_request records the pull request open or closed (`pull_request_previews`) for its
 *   preview; closed builds nothing and queues the preview's removal (`preview.closed`).
 */
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import { z } from "zod";
import { BranchName } from "../../core/contracts/common.ts";
import { branchMatches, tagBuilds } from "../../core/pipeline/branches.ts";
import type { Bindings } from "../config.js";
import type { Db } from "../db/client.js";
import { githubInstallationRepositories, githubInstallations, pipelines, projects, workspaces } from "../db/schema.js";
import { closePreview, openPreview } from "../use-cases/close-preview.js";
import { triggerBuild } from "../use-cases/trigger-build.js";
import { claimDelivery, type DeliveryRecord, DuplicateDelivery } from "../webhooks/deliveries.js";
import type { QueuedGitHubEvent } from "./queued-event.ts";

type Env = Pick<Bindings, "BUILD_COORDINATOR" | "EVENTS">;
type PushLike = Extract<QueuedGitHubEvent, { type: "push" | "pull_request" }>;
type Installation = Extract<QueuedGitHubEvent, { type: "installation" }>;
type Repos = Extract<QueuedGitHubEvent, { type: "installation_repositories" }>;

/** One line on what the delivery did, for the log. */
export async function deliverGitHubEvent(env: Env, db: Db, deliveryId: string, event: QueuedGitHubEvent, traceparent?: string | null): Promise<string> {
  const key = { source: "github" as const, deliveryId };
  switch (event.type) {
    case "ignored": {
      const row = await claimDelivery(db, { ...key, installationId: null, event: event.event, outcome: "ignored", detail: event.reason });
      return row ? `ignored: ${event.reason}` : "redelivery: nothing to do";
    }
    case "installation":
      return once(() => installationChanged(db, deliveryId, event));
    case "installation_repositories":
      return once(() => repositoriesChanged(db, deliveryId, event));
    case "push":
    case "pull_request":
      return buildFor(env, db, deliveryId, event, traceparent);
  }
}

/** Runs a recording transaction; a redelivery's DuplicateDelivery undoes it. */
async function once(work: () => Promise<string>): Promise<string> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DuplicateDelivery) return "redelivery: nothing to do";
    throw err;
  }
}

async function installationChanged(db: Db, deliveryId: string, e: Installation): Promise<string> {
  const i = e.installation;
  const now = new Date();
  return db.transaction(async (tx) => {
    const claimed = await claimDelivery(tx, {
      source: "github",
      deliveryId,
      installationId: i.id,
      event: "installation",
      outcome: "ignored",
      detail: `installation ${e.action}`,
    });
    if (!claimed) throw new DuplicateDelivery(deliveryId);
    const state = {
      accountLogin: i.account.login,
      accountType: i.account.type,
      repositorySelection: i.repositorySelection,
      updatedAt: now,
      ...(e.action === "deleted" ? { deletedAt: now } : {}),
      ...(e.action === "suspend" ? { suspendedAt: now } : {}),
      ...(e.action === "unsuspend" ? { suspendedAt: null } : {}),
    };
    await tx
      .insert(githubInstallations)
      .values({ id: i.id, ...state })
      .onConflictDoUpdate({ target: githubInstallations.id, set: state });
    if (e.action === "created") await addRepositories(tx, i.id, e.repositories);
    return `installation ${i.id} (${i.account.login}) ${e.action}`;
  });
}

async function repositoriesChanged(db: Db, deliveryId: string, e: Repos): Promise<string> {
  return db.transaction(async (tx) => {
    const claimed = await claimDelivery(tx, {
      source: "github",
      deliveryId,
      installationId: e.installationId,
      event: "installation_repositories",
      outcome: "ignored",
      detail: `repositories ${e.action}`,
    });
    if (!claimed) throw new DuplicateDelivery(deliveryId);
    const [known] = await tx.select({ id: githubInstallations.id }).from(githubInstallations).where(eq(githubInstallations.id, e.installationId));
    // An installation we never heard of is recorded when it is linked (setup reads its repositories then).
    if (!known) return `installation ${e.installationId} is unknown; nothing recorded`;
    await tx
      .update(githubInstallations)
      .set({ repositorySelection: e.repositorySelection, updatedAt: new Date() })
      .where(eq(githubInstallations.id, e.installationId));
    await addRepositories(tx, e.installationId, e.added);
    const gone = e.removed.map((r) => r.id);
    if (gone.length > 0)
      await tx
        .delete(githubInstallationRepositories)
        .where(and(eq(githubInstallationRepositories.installationId, e.installationId), inArray(githubInstallationRepositories.repositoryId, gone)));
    return `installation ${e.installationId}: ${e.added.length} repositories added, ${gone.length} removed`;
  });
}

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/** Records repositories an installation may use (already known ones are left as they are). */
export async function addRepositories(
  tx: Tx | Db,
  installationId: number,
  repos: { id: number; fullName: string; private?: boolean | undefined }[],
): Promise<void> {
  if (repos.length === 0) return;
  await tx
    .insert(githubInstallationRepositories)
    .values(repos.map((r) => ({ installationId, repositoryId: r.id, fullName: r.fullName, private: r.private ?? false })))
    .onConflictDoNothing();
}

const Triggers = z.object({
  triggers: z.object({ branches: z.array(z.string()), pullRequests: z.boolean().optional(), tags: z.array(z.string()).optional() }),
});

/** The project's newest pipeline's triggers (sparki.yml `pipeline.branches`, `.tags`, `.pullRequests`), if it has one. */
async function triggersOf(db: Db, projectId: string): Promise<z.infer<typeof Triggers>["triggers"] | null> {
  const [row] = await db
    .select({ configuration: pipelines.configuration })
    .from(pipelines)
    .where(eq(pipelines.projectId, projectId))
    .orderBy(desc(pipelines.version))
    .limit(1);
  const parsed = Triggers.safeParse(row?.configuration);
  return parsed.success ? parsed.data.triggers : null;
}

/** Why this project does not build the event, or null when it does. */
async function skipReason(db: Db, projectId: string, e: PushLike): Promise<string | null> {
  if (e.type === "push") {
    if (e.refType === "tag") {
      if (e.commit === null) return `tag ${e.refName} was deleted`;
      // git would refuse such a name; it never reaches a build (nor a runner's git).
      if (!BranchName.safeParse(e.refName).success) return "the tag's name is not a valid git ref name";
      if (!tagBuilds((await triggersOf(db, projectId))?.tags, e.refName)) return `tag ${e.refName} is not among sparki.yml pipeline.tags`;
      return null;
    }
    if (e.commit === null) return `branch ${e.refName} was deleted`;
    const patterns = (await triggersOf(db, projectId))?.branches;
    // sparki.yml documents a lone "*" as every branch; elsewhere "*" stays within one path segment.
    if (patterns && !patterns.some((p) => p === "*" || branchMatches(p, e.refName))) return `branch ${e.refName} is not among sparki.yml pipeline.branches`;
    return null;
  }
  if ((await triggersOf(db, projectId))?.pullRequests === false) return "sparki.yml pipeline.pullRequests is off";
  return null;
}

async function buildFor(env: Env, db: Db, deliveryId: string, e: PushLike, traceparent: string | null | undefined): Promise<string> {
  const targets = await db
    .select({ project: projects, trustForks: workspaces.trustForkPullRequests })
    .from(projects)
    .innerJoin(githubInstallations, eq(githubInstallations.id, projects.githubInstallationId))
    .innerJoin(workspaces, eq(workspaces.id, projects.workspaceId))
    .where(
      and(
        eq(projects.githubRepositoryId, e.repository.id),
        eq(githubInstallations.id, e.installationId),
        eq(githubInstallations.workspaceId, projects.workspaceId),
        isNull(githubInstallations.deletedAt),
        isNull(githubInstallations.suspendedAt),
      ),
    );
  const base = { source: "github" as const, deliveryId, installationId: e.installationId, event: e.type };
  if (targets.length === 0) {
    const detail = `repository ${e.repository.fullName} is not imported by a workspace linked to installation ${e.installationId}`;
    const row = await claimDelivery(db, { ...base, outcome: "ignored", detail });
    return row ? `ignored: ${detail}` : "redelivery: nothing to do";
  }
  const done: string[] = [];
  for (const { project, trustForks } of targets) {
    const key = { ...base, projectId: project.id };
    if (e.type === "pull_request" && e.action === "closed") {
      done.push(await closed(env, db, key, project.id, e.number));
      continue;
    }
    const skip = await skipReason(db, project.id, e);
    if (skip) {
      const row = await claimDelivery(db, { ...key, outcome: "ignored", detail: skip });
      done.push(row ? `${project.id}: ignored (${skip})` : `${project.id}: redelivery`);
      continue;
    }
    const pr = e.type === "pull_request";
    const untrusted = pr && e.fromFork && !trustForks;
    const tag = !pr && e.refType === "tag" ? e.refName : null;
    try {
      const build = await triggerBuild(env, db, {
        project: { id: project.id, workspaceId: project.workspaceId, gitUrl: project.gitUrl, framework: project.framework },
        branch: pr ? e.head.ref : tag ? null : e.refName,
        tag,
        commitSha: pr ? e.head.sha : e.commit,
        source: { trigger: pr ? "pull_request" : "push", correlationId: `github_${deliveryId}`.slice(0, 128) },
        traceparent,
        untrusted,
        pullRequest: pr ? e.number : null,
        baseBranch: pr ? e.base.ref : null,
        alongside: async (tx, row) => {
          const claimed = await claimDelivery(tx, {
            ...key,
            outcome: "started",
            buildId: row.id,
            detail: untrusted ? "from a fork: no secrets, no deployments" : null,
          });
          if (!claimed) throw new DuplicateDelivery(deliveryId);
          // The pull request is open: a green build of it may deploy its preview (start-preview.ts).
          if (pr) await openPreview(tx, project.id, e.number);
        },
      });
      done.push(`${project.id}: build ${build.id}${untrusted ? " (untrusted)" : ""}`);
    } catch (err) {
      if (!(err instanceof DuplicateDelivery)) throw err;
      done.push(`${project.id}: redelivery`);
    }
  }
  return done.join("; ");
}

/**
 * A closed pull request builds nothing; it is recorded closed (its preview stage is hidden from
 * then on) and its preview's removal is queued. The removal is sent again on a redelivery, since
 * a send lost after the first one's transaction would otherwise leave the preview's files behind;
 * removing twice changes nothing.
 */
async function closed(env: Env, db: Db, key: Omit<DeliveryRecord, "outcome">, projectId: string, number: number): Promise<string> {
  let redelivery = false;
  try {
    await db.transaction(async (tx) => {
      const claimed = await claimDelivery(tx, { ...key, outcome: "ignored", detail: `pull request #${number} closed: its preview is removed` });
      if (!claimed) throw new DuplicateDelivery(key.deliveryId);
      await closePreview(tx, projectId, number);
    });
  } catch (err) {
    if (!(err instanceof DuplicateDelivery)) throw err;
    redelivery = true;
  }
  await env.EVENTS.send({
    type: "preview.closed",
    projectId,
    pullRequest: number,
    sweep: 1,
    correlationId: `github_${key.deliveryId}`.slice(0, 128),
    occurredAt: new Date().toISOString(),
  });
  return `${projectId}: pull request #${number} closed${redelivery ? " (redelivery)" : ""}, preview removal queued`;
}
