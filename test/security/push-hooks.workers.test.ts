/**
 * Attacks on the push hook (`POST /v1/projects/:id/hooks/push`), which takes no login: the
 * signature is its only gate. Every refusal is the same 401 whether or not the project or its
 * hook exists; a refused or malformed call stores nothing and starts nothing; a replayed
 * delivery starts nothing; no input reaches a 5xx.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";
import { createHook, push, shaOf, sign, zeros } from "../../workers/testing/push-hook.js";

let owner: TestUser;
let projectId: string;
let secret: string;
let bareProjectId: string;
let otherSecret: string;

beforeAll(async () => {
  owner = await signup("hook-attacks");
  const workspaceId = (await createWorkspace(owner)).id;
  projectId = (await createProject(owner, workspaceId)).id;
  secret = (await createHook(owner, projectId)).secret;
  bareProjectId = (await createProject(owner, workspaceId)).id;
  const other = (await createProject(owner, workspaceId)).id;
  otherSecret = (await createHook(owner, other)).secret;
});

async function nothingStored(id: string): Promise<void> {
  const builds = await call("GET", `/v1/projects/${id}/builds`, { token: owner.accessToken });
  expect(builds.body.items).toEqual([]);
  const hook = await call("GET", `/v1/projects/${id}/hooks`, { token: owner.accessToken });
  expect(hook.body.deliveries).toEqual([]);
}

/** The parts of a 401 that must not differ between refusals (the instance is the request id). */
const shape = (res: { status: number; body: any }) => ({ status: res.status, type: res.body?.type, title: res.body?.title, detail: res.body?.detail });

describe("push hook: refusals are one 401 that tells nothing", () => {
  it("refuses unsigned, malformed, wrongly keyed and other-body signatures, unknown projects and projects without a hook, identically", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", before: zeros, after: shaOf("a") });
    const attempts = [
      await push(projectId, secret, { body, signature: null }),
      await push(projectId, secret, { body, signature: "" }),
      await push(projectId, secret, { body, signature: "sha256=" }),
      await push(projectId, secret, { body, signature: `sha1=${"a".repeat(40)}` }),
      await push(projectId, secret, { body, signature: `sha256=${"z".repeat(64)}` }),
      await push(projectId, secret, { body, signature: `sha256=${"a".repeat(63)}` }),
      await push(projectId, secret, { body, signature: `${await sign(secret, body)}00` }),
      await push(projectId, secret, { body, signature: `sha256 ${(await sign(secret, body)).slice(7)}` }),
      // Another project's key, the right key over another body, and a body changed by one byte.
      await push(projectId, otherSecret, { body }),
      await push(projectId, secret, { body, signature: await sign(secret, body.replace("main", "mainx")) }),
      await push(projectId, secret, { body: `${body} `, signature: await sign(secret, body) }),
      // A plain SHA-256-length hex of the key is not a signature.
      await push(projectId, secret, { body, signature: `sha256=${(await sign(secret, "")).slice(7)}` }),
      await push(bareProjectId, secret, { body }),
      await push(crypto.randomUUID(), secret, { body }),
      await push("not-a-uuid", secret, { body }),
    ];
    for (const res of attempts) expectProblem(res, 401, "unauthenticated");
    const first = shape(attempts[0] as (typeof attempts)[0]);
    for (const res of attempts) expect(shape(res)).toEqual(first);
    await nothingStored(projectId);
    await nothingStored(bareProjectId);
  });

  it("accepts the signature's hex in either case (the HMAC, not its spelling, is compared)", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", before: zeros, after: zeros });
    const res = await push(projectId, secret, { body, signature: (await sign(secret, body)).toUpperCase().replace("SHA256=", "sha256=") });
    expect(res.status, res.text).toBe(202);
  });
});

describe("push hook: signed but hostile input is a 400 and starts nothing", () => {
  it("refuses hostile refs, shas that are not full lowercase hex, extra fields, bad JSON and bad UTF-8", async () => {
    const id = (await createProject(owner, (await createWorkspace(owner, "hostile")).id)).id;
    const key = (await createHook(owner, id)).secret;
    const good = { ref: "refs/heads/main", before: zeros, after: shaOf("a") };
    const bodies: (string | Uint8Array)[] = [
      ...[
        "refs/heads/../../x",
        "refs/heads/a/../b",
        "refs/heads/",
        "refs/heads/a b",
        "refs/heads/x.lock",
        "refs/heads/-x",
        "refs/heads/a\u0000b",
        "refs/heads/a\nb",
        "refs/heads/a~1",
        "refs/heads/a:b",
        "refs/heads/@{u}",
        "refs/remotes/origin/main",
        "refs/pull/1/head",
        "main",
        `refs/heads/${"a".repeat(300)}`,
        "refs/heads/\ud800",
        // Tags: the same rules, so no hostile tag name reaches a build or a runner's git.
        "refs/tags/--upload-pack=touch /tmp/pwned",
        "refs/tags/-v1",
        "refs/tags/../../etc/passwd",
        "refs/tags/v1\u0007",
        "refs/tags/v1\nx",
        "refs/tags/",
        `refs/tags/${"v".repeat(300)}`,
      ].map((ref) => JSON.stringify({ ...good, ref })),
      ...["A".repeat(40), "a".repeat(39), "a".repeat(41), "g".repeat(40), `${"a".repeat(40)}\n`, ""].map((after) => JSON.stringify({ ...good, after })),
      JSON.stringify({ ...good, before: "HEAD" }),
      JSON.stringify({ ...good, extra: true }),
      JSON.stringify({ ref: good.ref, after: good.after }),
      JSON.stringify([good]),
      "null",
      "{",
      "",
      new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    ];
    for (const body of bodies) {
      const res = await push(id, key, { body });
      expect(res.status, `${String(body).slice(0, 80)} → ${res.text}`).toBe(400);
    }
    await nothingStored(id);
  });

  it("refuses a missing or malformed delivery id after a good signature", async () => {
    const id = (await createProject(owner, (await createWorkspace(owner, "deliveries")).id)).id;
    const key = (await createHook(owner, id)).secret;
    for (const delivery of [null, "", "short", "a b c d e f", "x".repeat(101), "../../etc/passwd", "id\twith-tab"]) {
      const res = await push(id, key, { delivery });
      expect(res.status, `${JSON.stringify(delivery)} → ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    await nothingStored(id);
  });

  it("refuses a body over 4 KiB before reading it, declared or streamed", async () => {
    const big = JSON.stringify({ ref: "refs/heads/main", before: zeros, after: shaOf("a"), pad: "x".repeat(5000) });
    expectProblem(await push(projectId, secret, { body: big }), 413, "payload_too_large");
    // No Content-Length: the body arrives as a stream and is cut at the limit.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000));
        controller.close();
      },
    });
    const res = await SELF.fetch(`http://sparki.test/v1/projects/${projectId}/hooks/push`, {
      method: "POST",
      headers: { "x-sparki-signature-256": await sign(secret, big), "x-sparki-delivery": crypto.randomUUID(), "content-type": "application/json" },
      body: stream,
    });
    expect(res.status).toBe(413);
  });
});

describe("push hook: replays", () => {
  it("starts one build for one delivery id, sent again later or many times at once", async () => {
    const id = (await createProject(owner, (await createWorkspace(owner, "replay")).id)).id;
    const key = (await createHook(owner, id)).secret;
    const delivery = crypto.randomUUID();
    const body = JSON.stringify({ ref: "refs/heads/main", before: zeros, after: shaOf("d") });
    const all = await Promise.all(Array.from({ length: 6 }, () => push(id, key, { body, delivery })));
    for (const res of all) expect(res.status, res.text).toBeLessThan(300);
    expect(all.filter((r) => r.status === 202)).toHaveLength(1);
    const buildIds = new Set(all.map((r) => r.body.buildId));
    expect(buildIds.size).toBe(1);
    const later = await push(id, key, { body, delivery });
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ duplicate: true, buildId: [...buildIds][0] });
    // A replayed id with another body still starts nothing: the id decides.
    const other = await push(id, key, { delivery, after: shaOf("e") });
    expect(other.status).toBe(200);
    const builds = await call("GET", `/v1/projects/${id}/builds`, { token: owner.accessToken });
    expect(builds.body.items).toHaveLength(1);
  });

  it("keeps one project's delivery ids from blocking another's", async () => {
    const workspaceId = (await createWorkspace(owner, "ids")).id;
    const [a, b] = [(await createProject(owner, workspaceId)).id, (await createProject(owner, workspaceId)).id];
    const [ka, kb] = [(await createHook(owner, a)).secret, (await createHook(owner, b)).secret];
    const delivery = crypto.randomUUID();
    expect((await push(a, ka, { delivery })).status).toBe(202);
    expect((await push(b, kb, { delivery })).body).toMatchObject({ outcome: "started", duplicate: false });
  });
});
