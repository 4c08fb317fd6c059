/**
 * Deliveries built by the fake (shaped like octokit's payload schemas, signed like GitHub) become
 * the typed events Sparki consumes; everything else is "ignored" with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub } from "../../../test/fakes/github.ts";
import {
  deliver,
  installationPayload,
  installationRepositoriesPayload,
  pullRequestPayload,
  pushPayload,
  ZERO_SHA,
} from "../../../test/fakes/github-webhooks.ts";
import { receiveWebhook } from "./webhooks.ts";

const SECRET = "whsec-for-tests";
const gh = new FakeGitHub();
let installationId: number;

beforeAll(async () => {
  // Started for its URLs: the payloads link to it (clone_url is a repository the fake serves).
  await gh.start();
  const app = gh.addApp();
  gh.addOrg("acme", []);
  gh.addRepo("acme/shop", { private: true, defaultBranch: "main" });
  gh.addRepo("mallory/shop", { forkOf: "acme/shop" });
  gh.addRepo("acme/blog");
  installationId = gh.install(app, "acme", { repositories: ["acme/shop"] }).id;
});
afterAll(() => gh.close());

async function receive(event: string, payload: unknown) {
  const d = deliver(SECRET, event, payload);
  const req = new Request("http://sparki.test/v1/integrations/github/webhook", { method: "POST", headers: d.headers, body: d.body });
  const got = await receiveWebhook(req, SECRET);
  expect(got.deliveryId).toBe(d.id);
  return got.event;
}

describe("push", () => {
  it("a branch push is the commit to build, on that branch of that repository", async () => {
    const after = "a".repeat(40);
    const e = await receive("push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/feature/x", after, installationId }));
    expect(e).toMatchObject({
      type: "push",
      installationId,
      refType: "branch",
      refName: "feature/x",
      commit: after,
      repository: { fullName: "acme/shop", owner: "acme", name: "shop", private: true, defaultBranch: "main", id: gh.repo("acme/shop").id },
      headCommit: { id: after },
    });
  });

  it("a deleted branch has no commit to build; a tag push is a tag", async () => {
    const del = await receive("push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/old", deleted: true, installationId }));
    expect(del).toMatchObject({ type: "push", commit: null, headCommit: null, refName: "old" });
    const tag = await receive("push", pushPayload(gh, { repo: "acme/shop", ref: "refs/tags/v1.2.3", created: true, installationId }));
    expect(tag).toMatchObject({ type: "push", refType: "tag", refName: "v1.2.3", created: true, before: ZERO_SHA });
    // An annotated tag: `after` is the tag object; the commit to build is head_commit's.
    const [tagObject, tagged] = ["1".repeat(40), "2".repeat(40)];
    const annotated = await receive(
      "push",
      pushPayload(gh, { repo: "acme/shop", ref: "refs/tags/v1.3.0", created: true, after: tagObject, headCommit: tagged, installationId }),
    );
    expect(annotated).toMatchObject({ type: "push", refType: "tag", refName: "v1.3.0", commit: tagged });
  });

  it("ignores other refs and deliveries without an installation", async () => {
    expect(await receive("push", pushPayload(gh, { repo: "acme/shop", ref: "refs/notes/commits", installationId }))).toMatchObject({ type: "ignored" });
    expect(await receive("push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main" }))).toMatchObject({ type: "ignored", reason: /installation/ });
  });
});

describe("pull_request", () => {
  it("opened, synchronize, reopened and closed from the same repository", async () => {
    for (const action of ["opened", "synchronize", "reopened", "closed"] as const) {
      const e = await receive(
        "pull_request",
        pullRequestPayload(gh, { repo: "acme/shop", action, number: 7, headRef: "feature", installationId, merged: true }),
      );
      expect(e).toMatchObject({ type: "pull_request", action, number: 7, fromFork: false, head: { ref: "feature" }, base: { ref: "main" } });
      if (e.type === "pull_request") expect(e.merged).toBe(action === "closed");
    }
  });

  it("from a fork (head repository differs, or was deleted) is marked fromFork", async () => {
    const fork = await receive(
      "pull_request",
      pullRequestPayload(gh, { repo: "acme/shop", action: "opened", number: 8, headRef: "main", headRepo: "mallory/shop", installationId }),
    );
    expect(fork).toMatchObject({
      type: "pull_request",
      fromFork: true,
      head: { repository: { fullName: "mallory/shop" } },
      repository: { fullName: "acme/shop" },
    });
    const gone = await receive(
      "pull_request",
      pullRequestPayload(gh, { repo: "acme/shop", action: "synchronize", number: 8, headRef: "main", headRepo: null, installationId }),
    );
    expect(gone).toMatchObject({ type: "pull_request", fromFork: true, head: { repository: null } });
  });

  it("other actions are ignored", async () => {
    const e = await receive("pull_request", pullRequestPayload(gh, { repo: "acme/shop", action: "labeled", number: 7, headRef: "feature", installationId }));
    expect(e).toEqual({ type: "ignored", event: "pull_request", action: "labeled", reason: expect.any(String) });
  });
});

describe("installations", () => {
  it("created and deleted name the account and its repositories", async () => {
    const created = await receive("installation", installationPayload(gh, { action: "created", installationId }));
    expect(created).toMatchObject({
      type: "installation",
      action: "created",
      installation: { id: installationId, account: { login: "acme", type: "Organization" }, repositorySelection: "selected" },
      repositories: [{ fullName: "acme/shop", private: true }],
    });
    expect(await receive("installation", installationPayload(gh, { action: "deleted", installationId }))).toMatchObject({ action: "deleted" });
  });

  it("installation_repositories added and removed", async () => {
    const added = await receive("installation_repositories", installationRepositoriesPayload(gh, { action: "added", installationId, repos: ["acme/blog"] }));
    expect(added).toMatchObject({ type: "installation_repositories", action: "added", installationId, added: [{ fullName: "acme/blog" }], removed: [] });
    const removed = await receive(
      "installation_repositories",
      installationRepositoriesPayload(gh, { action: "removed", installationId, repos: ["acme/blog"] }),
    );
    expect(removed).toMatchObject({ action: "removed", added: [], removed: [{ fullName: "acme/blog", id: gh.repo("acme/blog").id }] });
  });

  it("ping and events Sparki does not consume are ignored", async () => {
    expect(await receive("ping", { zen: "Keep it logically awesome.", hook_id: 1 })).toMatchObject({ type: "ignored", event: "ping" });
    expect(await receive("issues", { action: "opened" })).toMatchObject({ type: "ignored", event: "issues", action: "opened" });
  });
});
