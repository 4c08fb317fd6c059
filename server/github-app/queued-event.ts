/**
 * A GitHub webhook delivery on the `sparki-events` queue: the typed event the route made of it
 * (server/integrations/github/webhook-events.ts), checked again with zod when the consumer takes
 * it, since a queue message is a boundary. Only the fields the consumer reads are checked.
 */
import { z } from "zod";
import type { GitHubEvent, IgnoredEvent } from "../integrations/github/webhook-events.ts";

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);
const Sender = z.object({ login: z.string(), id: z.number() });
const Repo = z.object({
  id: z.number().int(),
  fullName: z.string().min(3).max(512),
  owner: z.string(),
  name: z.string(),
  private: z.boolean(),
  defaultBranch: z.string(),
  cloneUrl: z.string().max(2048),
  htmlUrl: z.string().max(2048),
});
const Lite = z.object({ id: z.number().int(), fullName: z.string(), private: z.boolean().optional() });
const InstallationId = z.number().int().positive();

export const QueuedGitHubEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("push"),
    installationId: InstallationId,
    repository: Repo,
    ref: z.string().max(1024),
    refType: z.enum(["branch", "tag"]),
    refName: z.string().min(1).max(1024),
    before: Sha,
    commit: Sha.nullable(),
    sender: Sender,
  }),
  z.object({
    type: z.literal("pull_request"),
    action: z.enum(["opened", "synchronize", "reopened", "closed"]),
    installationId: InstallationId,
    repository: Repo,
    number: z.number().int().positive().max(2_147_483_647),
    head: z.object({ sha: Sha, ref: z.string().max(1024), repository: Repo.nullable() }),
    base: z.object({ sha: Sha, ref: z.string().max(1024) }),
    fromFork: z.boolean(),
    sender: Sender,
  }),
  z.object({
    type: z.literal("installation"),
    action: z.enum(["created", "deleted", "suspend", "unsuspend"]),
    installation: z.object({
      id: InstallationId,
      appId: z.number().int(),
      account: z.object({ login: z.string().max(255), id: z.number(), type: z.string().max(20) }),
      repositorySelection: z.enum(["all", "selected"]),
    }),
    repositories: z.array(Lite),
    sender: Sender,
  }),
  z.object({
    type: z.literal("installation_repositories"),
    action: z.enum(["added", "removed"]),
    installationId: InstallationId,
    repositorySelection: z.enum(["all", "selected"]),
    added: z.array(Lite),
    removed: z.array(Lite),
    sender: Sender,
  }),
  z.object({ type: z.literal("ignored"), event: z.string(), action: z.string().optional(), reason: z.string() }),
]);
export type QueuedGitHubEvent = z.infer<typeof QueuedGitHubEvent>;

/** What goes on the queue: the event without what the consumer does not read (commit messages). */
export function toQueued(event: GitHubEvent | IgnoredEvent): QueuedGitHubEvent {
  if (event.type === "push") {
    const { headCommit: _h, created: _c, forced: _f, ...rest } = event;
    return rest;
  }
  if (event.type === "pull_request") {
    const { title: _t, htmlUrl: _u, draft: _d, merged: _m, ...rest } = event;
    return rest;
  }
  return event;
}
