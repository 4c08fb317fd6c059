/**
 * A project's GitLab link (`/v1/projects/:id/gitlab`): which GitLab project it builds, with a
 * project access token Sparki keeps sealed (commit statuses, private clones), and the webhook
 * GitLab calls on push and merge request events (its secret token shown once).
 */
import { z } from "zod";
import { Timestamp } from "./common.js";
import { HookDelivery } from "./hooks.js";

/** GitLab's `namespace/sub/project` path: letters, digits, `_ . -`, slash-separated. */
const GitLabPath = z
  .string()
  .min(3)
  .max(1024)
  .regex(/^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+$/, "must be a GitLab project path like group/project");

export const GitLabLinkBody = z
  .strictObject({
    /** GitLab's numeric project id (Settings > General). */
    projectId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    /** Or its path, `group/project`. */
    path: GitLabPath.optional(),
    /** A project access token (role Developer or more; scopes `api` and `read_repository`). */
    accessToken: z
      .string()
      .min(8)
      .max(512)
      .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  })
  .refine((b) => (b.projectId === undefined) !== (b.path === undefined), { message: "give exactly one of projectId and path", path: ["projectId"] })
  .meta({ id: "GitLabLinkBody" });
export type GitLabLinkBody = z.infer<typeof GitLabLinkBody>;

/** The answer to a new or replaced link: the only time the webhook's secret token is shown. */
export const GitLabLinkCreated = z
  .object({
    gitlabProjectId: z.number().int(),
    path: z.string(),
    webhookUrl: z.string().describe("Paste into GitLab: Settings > Webhooks > URL."),
    webhookToken: z.string().describe("Paste into GitLab: Settings > Webhooks > Secret token. Shown this once."),
    events: z.array(z.string()).describe("The triggers to tick in GitLab."),
    createdAt: Timestamp,
  })
  .meta({ id: "GitLabLinkCreated" });
export type GitLabLinkCreated = z.infer<typeof GitLabLinkCreated>;

/** The link as anyone who may read the project sees it: never a token. */
export const GitLabLinkInfo = z
  .object({
    linked: z.boolean(),
    gitlabProjectId: z.number().int().nullable(),
    path: z.string().nullable(),
    webhookUrl: z.string(),
    createdAt: Timestamp.nullable(),
    updatedAt: Timestamp.nullable(),
    /** The newest deliveries first (at most 20). */
    deliveries: z.array(HookDelivery),
  })
  .meta({ id: "GitLabLinkInfo" });
export type GitLabLinkInfo = z.infer<typeof GitLabLinkInfo>;

/** What the webhook answers GitLab (2xx for everything it accepted, started or ignored). */
export const GitLabDeliveryResult = z
  .object({
    delivery: z.string(),
    outcome: z.enum(["started", "ignored", "failed"]),
    detail: z.string().nullable(),
    buildId: z.uuid().nullable(),
    duplicate: z.boolean(),
  })
  .meta({ id: "GitLabDeliveryResult" });
export type GitLabDeliveryResult = z.infer<typeof GitLabDeliveryResult>;
