/** The GitHub App's API shapes: linking a workspace to installations, and importing a repository. */
import { z } from "zod";
import { Timestamp } from "./common.js";

export const GitHubInstallUrl = z.object({ url: z.url(), expiresInSeconds: z.number().int() }).meta({ id: "GitHubInstallUrl" });

export const GitHubInstallation = z
  .object({
    id: z.number().int(),
    accountLogin: z.string(),
    accountType: z.string(),
    repositorySelection: z.string(),
    suspended: z.boolean(),
    linkedAt: Timestamp.nullable(),
    repositories: z.array(z.object({ id: z.number().int(), fullName: z.string(), private: z.boolean() })),
  })
  .meta({ id: "GitHubInstallation" });
export type GitHubInstallation = z.infer<typeof GitHubInstallation>;

/** `configured`: whether this instance has a GitHub App at all (without one, `items` is empty). */
export const GitHubInstallations = z
  .object({ configured: z.boolean(), items: z.array(GitHubInstallation), trustForkPullRequests: z.boolean() })
  .meta({ id: "GitHubInstallations" });

/** Whether pull requests from forks build with the project's secrets and may deploy (owners and admins; off by default). */
export const GitHubSettings = z.strictObject({ trustForkPullRequests: z.boolean() }).meta({ id: "GitHubSettings" });

/** `owner/repo` as GitHub spells it (owner: letters, digits, hyphens; repo: also `.` and `_`). */
export const GitHubRepoName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, "must be owner/repo");

export const ImportGitHubProjectBody = z.strictObject({
  repository: GitHubRepoName,
  /** The project's name; the repository's name by default. */
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[\w.-][\w .-]*$/, "may contain letters, digits, spaces, '.', '_' and '-'")
    .optional(),
});

export const GitHubWebhookAccepted = z.object({ delivery: z.string(), queued: z.literal(true) }).meta({ id: "GitHubWebhookAccepted" });
