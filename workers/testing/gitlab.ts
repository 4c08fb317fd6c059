/**
 * Helpers for workerd tests of the GitLab link and webhook. The link is written straight into
 * Postgres (sealed as `PUT /v1/projects/:id/gitlab` seals it): that route asks GitLab, which a
 * workerd test cannot reach; it is covered against the fake by test/e2e/gitlab.test.ts. Payloads
 * and headers come from the fake's own builders (test/fakes/gitlab-hooks.ts).
 */
import { env, SELF } from "cloudflare:test";
import { configOf } from "../../server/config.js";
import { gitlabLinks } from "../../server/db/schema.js";
import { sealGitLabSecret } from "../../server/integrations/gitlab/link-secrets.js";
import { newHookToken } from "../../server/integrations/gitlab/webhooks.js";
import { type Delivery, deliveryHeaders, type HookProject, mergeRequestPayload, pushPayload } from "../../test/fakes/gitlab-hooks.ts";
import type { ApiResponse } from "./api.js";
import { withDb } from "./deploy.js";

// GITLAB_URL in the workerd tests (vitest.config.ts), so a fork's clone URL is on the instance.
export const GITLAB = "http://127.0.0.1:9";

let nextGitLabId = 5000;

/** Links `projectId` to a new GitLab project id; returns the webhook token and the GitLab project. */
export async function linkGitLab(projectId: string, path = `acme/app-${nextGitLabId}`): Promise<{ token: string; gitlab: HookProject }> {
  const gitlab: HookProject = { id: nextGitLabId++, path_with_namespace: path, default_branch: "main", visibility: "private" };
  const token = newHookToken();
  const config = configOf(env);
  const values = {
    projectId,
    gitlabProjectId: gitlab.id,
    gitlabPath: path,
    hookTokenCiphertext: await sealGitLabSecret(config, projectId, "hook", token),
    accessTokenCiphertext: await sealGitLabSecret(config, projectId, "access", "glpat-test-token-not-used"),
  };
  await withDb((db) => db.insert(gitlabLinks).values(values).onConflictDoUpdate({ target: gitlabLinks.projectId, set: values }));
  return { token, gitlab };
}

/** POSTs a delivery to the project's GitLab webhook URL, as GitLab would. */
export async function deliverTo(projectId: string, payload: Record<string, unknown>, d: Delivery = {}): Promise<ApiResponse> {
  const res = await SELF.fetch(`http://sparki.test/v1/integrations/gitlab/webhook/${projectId}`, {
    method: "POST",
    headers: deliveryHeaders(payload, d),
    body: d.rawBody ?? JSON.stringify(payload),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

export const sha = (c: string) => c.repeat(40);

/** A push of `after` to `ref` of the GitLab project. */
export const pushOf = (gitlab: HookProject, ref: string, after: string, before?: string) =>
  pushPayload(GITLAB, gitlab, { ref, after, ...(before ? { before } : {}) });

export { mergeRequestPayload };
