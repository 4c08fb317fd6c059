/**
 * GitLab webhook reception inside workerd (WebCrypto, Request streams): the token check and the
 * documented payloads (test/fakes/gitlab-hooks.ts) turned into typed events or "ignored".
 */
import { describe, expect, it } from "vitest";
import { deliveryHeaders, type HookProject, mergeRequestPayload, pushPayload } from "../../../test/fakes/gitlab-hooks.ts";
import { type GitLabEvent, type IgnoredEvent, ZERO_SHA } from "./webhook-events.ts";
import { deliveryIdOf, discardBody, newHookToken, receiveWebhook, tokenMatches, WebhookRejected } from "./webhooks.ts";

const BASE = "https://gitlab.example.com";
const shop: HookProject = { id: 42, path_with_namespace: "acme/shop", default_branch: "main", visibility: "private" };
const fork: HookProject = { id: 77, path_with_namespace: "mallory/shop", default_branch: "main", visibility: "public" };
const hook = { token: "hook-token-of-shop", gitlabProjectId: 42 };
const A = "a".repeat(40);
const B = "b".repeat(40);

function request(payload: Record<string, unknown>, headers: Record<string, string> = {}): Request {
  return new Request("https://sparki.test/v1/integrations/gitlab/webhook/p1", {
    method: "POST",
    headers: { ...deliveryHeaders(payload, { token: hook.token }), ...headers },
    body: JSON.stringify(payload),
  });
}
const receive = async (payload: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GitLabEvent | IgnoredEvent> =>
  (await receiveWebhook(request(payload, headers), hook)).event;

describe("the token check", () => {
  it("accepts only the exact token, whatever the lengths", async () => {
    expect(await tokenMatches("hook-token-of-shop", "hook-token-of-shop")).toBe(true);
    for (const wrong of ["", "hook-token-of-sho", "hook-token-of-shop ", "HOOK-TOKEN-OF-SHOP", "x".repeat(10_000)])
      expect(await tokenMatches(wrong, "hook-token-of-shop")).toBe(false);
    expect(await tokenMatches(null, "hook-token-of-shop")).toBe(false);
    // No hook configured: nothing matches, not even an empty header.
    expect(await tokenMatches("", null)).toBe(false);
    expect(await tokenMatches("", "")).toBe(false);
  });

  it("new hook tokens are 256 random bits", () => {
    const a = newHookToken();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(newHookToken()).not.toBe(a);
  });

  it("a wrong token is refused before the body is read", async () => {
    const req = request(pushPayload(BASE, shop, { ref: "refs/heads/main", after: A }), { "x-gitlab-token": "guess" });
    const err = await receiveWebhook(req, hook).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookRejected);
    expect((err as WebhookRejected).reason).toBe("wrong_token");
    expect((err as WebhookRejected).status).toBe(401);
    expect(req.bodyUsed).toBe(false);
    // The route then drops the unread body, so the connection ends cleanly under the 401.
    await discardBody(req);
    expect(req.bodyUsed).toBe(true);
  });
});

describe("push and tag push", () => {
  it("a branch push builds `after` on that branch", async () => {
    const e = await receive(pushPayload(BASE, shop, { ref: "refs/heads/feature/x", before: A, after: B }));
    expect(e).toMatchObject({ type: "push", refType: "branch", refName: "feature/x", commit: B, before: A, created: false, deleted: false });
    expect(e.type === "push" && e.project).toMatchObject({ id: 42, pathWithNamespace: "acme/shop", cloneUrl: `${BASE}/acme/shop.git` });
  });

  it("a new branch is created; a deleted one (after = 40 zeros) has no commit to build", async () => {
    expect(await receive(pushPayload(BASE, shop, { ref: "refs/heads/new", after: B }))).toMatchObject({ created: true, commit: B });
    expect(await receive(pushPayload(BASE, shop, { ref: "refs/heads/old", before: A, after: ZERO_SHA }))).toMatchObject({
      type: "push",
      deleted: true,
      commit: null,
    });
  });

  it("a tag push is a tag; an annotated tag builds checkout_sha, not the tag object", async () => {
    const p = pushPayload(BASE, shop, { ref: "refs/tags/v1.0.0", after: B });
    expect(p.object_kind).toBe("tag_push");
    expect(await receive(p)).toMatchObject({ type: "push", refType: "tag", refName: "v1.0.0", commit: B });
    const annotated = { ...p, after: "c".repeat(40), checkout_sha: B };
    expect(await receive(annotated)).toMatchObject({ commit: B });
  });
});

describe("merge requests", () => {
  const mr = (o: Partial<Parameters<typeof mergeRequestPayload>[1]> = {}): Record<string, unknown> =>
    mergeRequestPayload(BASE, { target: shop, action: "open", iid: 7, sourceBranch: "feature", lastCommit: B, ...o });

  it("open, reopen, close and merge become opened, reopened, closed and merged", async () => {
    for (const [action, typed] of [
      ["open", "opened"],
      ["reopen", "reopened"],
      ["close", "closed"],
      ["merge", "merged"],
    ] as const)
      expect(await receive(mr({ action }))).toMatchObject({
        type: "merge_request",
        action: typed,
        iid: 7,
        head: { sha: B, ref: "feature" },
        base: { ref: "main" },
      });
  });

  it("an update builds only when it pushed code (oldrev); approvals start nothing", async () => {
    expect(await receive(mr({ action: "update", oldrev: A }))).toMatchObject({ type: "merge_request", action: "updated" });
    expect(await receive(mr({ action: "update" }))).toMatchObject({ type: "ignored", reason: "merge request updated without new commits" });
    expect(await receive(mr({ action: "approved" }))).toMatchObject({ type: "ignored", action: "approved" });
  });

  it("a merge request from a fork says so, with the fork's clone URL", async () => {
    const e = await receive(mr({ source: fork }));
    expect(e).toMatchObject({
      type: "merge_request",
      fromFork: true,
      project: { id: 42 },
      head: { project: { id: 77, cloneUrl: `${BASE}/mallory/shop.git` } },
    });
    expect(await receive(mr())).toMatchObject({ fromFork: false });
  });
});

describe("what is not built on", () => {
  it("other events are ignored, not refused", async () => {
    expect(await receive({ object_kind: "note" }, { "x-gitlab-event": "Note Hook" })).toMatchObject({ type: "ignored", event: "Note Hook" });
  });

  it("the delivery id is Idempotency-Key, else X-Gitlab-Event-UUID", async () => {
    const p = pushPayload(BASE, shop, { ref: "refs/heads/main", after: A });
    expect(deliveryIdOf(new Headers(deliveryHeaders(p, { idempotencyKey: "key-1", eventUuid: "uuid-1" })))).toBe("key-1");
    expect(deliveryIdOf(new Headers(deliveryHeaders(p, { legacy: true, eventUuid: "uuid-1" })))).toBe("uuid-1");
    const { deliveryId } = await receiveWebhook(request(p, { "idempotency-key": "retry-same-key" }), hook);
    expect(deliveryId).toBe("retry-same-key");
  });
});

describe("GitLab's documented examples", () => {
  // The fields Sparki reads, from the examples in GitLab's "Webhook events" page.
  const project = {
    id: 15,
    name: "Diaspora",
    web_url: "http://example.com/mike/diaspora",
    git_ssh_url: "git@example.com:mike/diaspora.git",
    git_http_url: "http://example.com/mike/diaspora.git",
    namespace: "Mike",
    visibility_level: 0,
    path_with_namespace: "mike/diaspora",
    default_branch: "master",
  };

  it("the push example is a push of master", async () => {
    const payload = {
      object_kind: "push",
      event_name: "push",
      before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
      after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      ref: "refs/heads/master",
      ref_protected: true,
      checkout_sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      user_id: 4,
      user_name: "John Smith",
      user_username: "jsmith",
      project_id: 15,
      project,
      commits: [],
      total_commits_count: 4,
    };
    const { event } = await receiveWebhook(request(payload), { token: hook.token, gitlabProjectId: 15 });
    expect(event).toMatchObject({ type: "push", refName: "master", commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", pusher: "jsmith" });
  });

  it("the merge request example is an opened merge request", async () => {
    const source = { ...project, path_with_namespace: "awesome_space/awesome_project", git_http_url: "http://example.com/awesome_space/awesome_project.git" };
    const payload = {
      object_kind: "merge_request",
      event_type: "merge_request",
      user: { id: 1, name: "Administrator", username: "root" },
      project: { ...project, id: 14 },
      object_attributes: {
        id: 99,
        iid: 1,
        target_branch: "master",
        source_branch: "ms-viewport",
        source_project_id: 14,
        target_project_id: 14,
        title: "MS-Viewport",
        state: "opened",
        url: "http://example.com/diaspora/merge_requests/1",
        source,
        target: source,
        last_commit: { id: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", message: "fixed readme" },
        action: "open",
      },
    };
    const { event } = await receiveWebhook(request(payload), { token: hook.token, gitlabProjectId: 14 });
    expect(event).toMatchObject({ type: "merge_request", action: "opened", iid: 1, fromFork: false, head: { ref: "ms-viewport" }, base: { ref: "master" } });
  });
});
