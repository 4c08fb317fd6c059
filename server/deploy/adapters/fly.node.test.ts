import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PlatformError, type DeployContext } from "../../../core/deploy/adapter.ts";
import { FakeFly } from "../../../test/fakes/fly.ts";
import { MAX_ATTEMPTS } from "../retry.ts";
import { decodeFlyDeployment, flyAdapter } from "./fly.ts";

const TOKEN = "fo1_test_token";
let fake: FakeFly;
/** The waits the platform client asked for: recorded, never slept. */
const slept: number[] = [];
const sleep = async (ms: number): Promise<void> => {
  slept.push(ms);
};

function ctx(over: Partial<DeployContext> = {}, settings: Record<string, unknown> = {}): DeployContext {
  return {
    deploymentId: "dep_1",
    projectId: "prj_1",
    stage: "production",
    commitSha: "abcdef1234567890",
    artifact: { url: "http://unused.invalid/a.tar.gz", kind: "directory", sha256: null, size: 0 },
    env: { NODE_ENV: "production" },
    credentials: { FLY_API_TOKEN: TOKEN },
    settings: flyAdapter.settings.parse({ app: "shop", image: "registry.fly.io/shop:{shortSha}", apiUrl: fake.url, ...settings }),
    fetch,
    signal: AbortSignal.timeout(10_000),
    sleep,
    ...over,
  };
}

async function settle(c: DeployContext, id: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    const s = await flyAdapter.state(c, { id, url: null });
    seen.push(s);
    if (s !== "pending") break;
  }
  return seen;
}

beforeEach(async () => {
  slept.length = 0;
  fake = new FakeFly(TOKEN);
  fake.addApp("shop", "registry.fly.io/shop:v1");
  await fake.start();
});
afterEach(async () => {
  await fake.close();
});

describe("fly adapter", () => {
  it("deploys the per-commit image with the stage env and goes pending then ready", async () => {
    const c = ctx();
    const d = await flyAdapter.deploy(c);
    expect(d.url).toBe("https://shop.fly.dev");
    expect(decodeFlyDeployment(d.id).image).toBe("registry.fly.io/shop:abcdef1");
    expect(fake.images("shop")).toEqual(["registry.fly.io/shop:abcdef1", "registry.fly.io/shop:abcdef1"]);

    const updates = fake.requests.filter((r) => r.method === "POST");
    expect(updates).toHaveLength(2);
    for (const u of updates) {
      expect(u.authorization).toBe(`Bearer ${TOKEN}`);
      // The rest of the Machine config is sent back unchanged; env is merged, not replaced.
      expect(u.body).toMatchObject({ config: { image: "registry.fly.io/shop:abcdef1", env: { PRESET: "1", NODE_ENV: "production" }, guest: { cpus: 1 } } });
    }
    const seen = await settle(c, d.id);
    expect(seen[0]).toBe("pending");
    expect(seen.at(-1)).toBe("ready");
    expect(fake.requests.some((r) => r.path.includes("/wait?state=started&instance_id="))).toBe(true);
  });

  it("reports failed when the Machines cannot start", async () => {
    fake.failingImages.add("registry.fly.io/shop:abcdef1");
    const c = ctx();
    const d = await flyAdapter.deploy(c);
    expect((await settle(c, d.id)).at(-1)).toBe("failed");
  });

  it("rolls back to the earlier deployment's image", async () => {
    const first = await flyAdapter.deploy(ctx({ commitSha: "1111111aaaa" }));
    await settle(ctx(), first.id);
    const second = await flyAdapter.deploy(ctx({ commitSha: "2222222bbbb" }));
    expect(fake.images("shop")).toEqual(["registry.fly.io/shop:2222222", "registry.fly.io/shop:2222222"]);
    // The superseded deployment is no longer what runs.
    expect(await flyAdapter.state(ctx(), first)).toBe("failed");

    const back = await flyAdapter.rollback(ctx(), first);
    expect(fake.images("shop")).toEqual(["registry.fly.io/shop:1111111", "registry.fly.io/shop:1111111"]);
    expect(back.id).not.toBe(second.id);
    expect((await settle(ctx(), back.id)).at(-1)).toBe("ready");
  });

  it("validate reports a missing credential and an unknown app without updating anything", async () => {
    expect(await flyAdapter.validate(ctx({ credentials: {} }))).toEqual(["missing credential FLY_API_TOKEN"]);
    const problems = await flyAdapter.validate(ctx({}, { app: "nope" }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/fly app nope not found.*app not found/);
    expect(await flyAdapter.validate(ctx())).toEqual([]);
    expect(fake.requests.every((r) => r.method === "GET")).toBe(true);
    expect(fake.images("shop")).toEqual(["registry.fly.io/shop:v1", "registry.fly.io/shop:v1"]);
  });

  it("validate reports an unreachable API", async () => {
    const problems = await flyAdapter.validate(ctx({}, { apiUrl: "http://127.0.0.1:9/v1" }));
    expect(problems[0]).toMatch(/unreachable/);
  });

  it("a wrong token is a 401 PlatformError that is not retryable", async () => {
    const err = await flyAdapter.deploy(ctx({ credentials: { FLY_API_TOKEN: "wrong" } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ status: 401, retryable: false });
    expect((err as Error).message).toContain("You must be authenticated");
    expect(await flyAdapter.validate(ctx({ credentials: { FLY_API_TOKEN: "wrong" } }))).toEqual([expect.stringContaining("You must be authenticated")]);
  });

  it("429 and 500 that last are retryable PlatformErrors, with the platform's Retry-After", async () => {
    fake.failNext(429, { times: MAX_ATTEMPTS, retryAfter: 7 });
    const limited = await flyAdapter.deploy(ctx()).catch((e: unknown) => e);
    expect(limited).toMatchObject({ status: 429, retryable: true, retryAfterMs: 7000 });
    expect((limited as Error).message).toContain("retry after 7s");
    expect(fake.images("shop")).toEqual(["registry.fly.io/shop:v1", "registry.fly.io/shop:v1"]);
    // A 500 is a platform bug more often than a blip: not retried in process, but retryable later.
    fake.failNext(500, { times: MAX_ATTEMPTS });
    const before = fake.requests.length;
    expect(await flyAdapter.deploy(ctx()).catch((e: unknown) => e)).toMatchObject({ status: 500, retryable: true });
    expect(fake.requests.length - before).toBe(1);
  });

  it("a 429 with Retry-After is waited out and retried, and the deploy succeeds", async () => {
    fake.failNext(429, { retryAfter: 2 });
    const d = await flyAdapter.deploy(ctx());
    expect(decodeFlyDeployment(d.id).image).toBe("registry.fly.io/shop:abcdef1");
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(2000);
    // The rate-limited list was sent again, then both updates once each.
    expect(fake.requests.map((r) => r.method)).toEqual(["GET", "GET", "POST", "POST"]);
  });

  it("a 503 on a Machine update is retried: the update is a full replacement, so resending it changes nothing more", async () => {
    const c = ctx();
    fake.failNext(503, { times: 2, on: "POST" });
    const d = await flyAdapter.deploy(c);
    expect(fake.images("shop")).toEqual(["registry.fly.io/shop:abcdef1", "registry.fly.io/shop:abcdef1"]);
    expect(slept).toHaveLength(2);
    // Two refused updates of the first Machine, its update, then the second Machine's.
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(4);
    expect((await settle(c, d.id)).at(-1)).toBe("ready");
  });

  it("a 400 is not retried", async () => {
    fake.failNext(400, { times: MAX_ATTEMPTS });
    const err = await flyAdapter.deploy(ctx()).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(fake.requests).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it("the documented 408 of a wait means pending, and is not retried", async () => {
    fake.failingImages.add("registry.fly.io/shop:abcdef1");
    const c = ctx();
    const d = await flyAdapter.deploy(c);
    fake.requests.length = 0;
    expect(await flyAdapter.state(c, d)).toBe("pending");
    // One wait per Machine, none sent again.
    const waits = fake.requests.filter((r) => r.path.includes("/wait?")).map((r) => r.path);
    expect(waits).toHaveLength(2);
    expect(new Set(waits).size).toBe(2);
    expect(slept).toEqual([]);
  });

  it("an unreachable API is a retryable PlatformError after every attempt", async () => {
    const err = await flyAdapter.deploy(ctx({}, { apiUrl: "http://127.0.0.1:9/v1" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ status: 0, retryable: true });
    expect((err as Error).message).toMatch(/unreachable/);
    expect(slept).toHaveLength(MAX_ATTEMPTS - 1);
  });
});
