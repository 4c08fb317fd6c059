import { Redis } from "@upstash/redis";
import IORedis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstashShim, toCommand, type UpstashShim } from "./upstash-shim.ts";

const TOKEN = "test-token-123";
const modes: Array<[string, string | undefined]> = [["memory", undefined]];
if (process.env.SPARKI_NO_LOCAL_REDIS !== "1") modes.push(["real Redis", "redis://127.0.0.1:6379"]);

it("upper-cases command names and option keywords, never values", () => {
  expect(toCommand(["set", "nx", "ex", "ex", 60, "nx"])).toEqual(["SET", "nx", "ex", "EX", 60, "NX"]);
  expect(toCommand(["scan", 0, "match", "nx*", "count", 10])).toEqual(["SCAN", 0, "MATCH", "nx*", "COUNT", 10]);
  expect(toCommand(["zadd", "k", "nx", "ch", 1, "gt"])).toEqual(["ZADD", "k", "NX", "CH", 1, "gt"]);
  expect(toCommand(["script", "load", "return 'load'"])).toEqual(["SCRIPT", "LOAD", "return 'load'"]);
  expect(toCommand(["set", "k", true])).toEqual(["SET", "k", "true"]);
  expect(toCommand([])).toMatch(/non-empty/);
  expect(toCommand(["set", "k", { a: 1 }])).toMatch(/argument 2/);
  expect(toCommand(["subscribe", "c"])).toMatch(/not available/);
});

for (const [mode, redisUrl] of modes) {
  describe(`upstash-shim with @upstash/redis (${mode})`, () => {
    let shim: UpstashShim;
    let redis: Redis;
    // Keys of this run only, so a shared real Redis is left as it was.
    const k = (name: string): string => `sparki-shim-test:${process.pid}:${name}`;
    const post = (path: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${shim.url}${path}`, { method: "POST", body, headers: { authorization: `Bearer ${TOKEN}`, ...headers } });

    beforeAll(async () => {
      shim = await startUpstashShim({ token: TOKEN, redisUrl });
      redis = new Redis({ url: shim.url, token: TOKEN, enableTelemetry: false });
    });
    afterAll(async () => {
      const keys = ["s", "nx", "n", "a", "b", "obj", "p1", "p2", "tx", "lua", "h", "z"].map(k);
      await redis?.del(...keys).catch(() => undefined);
      await shim?.close();
    });

    it("get/set with ex and nx, incr+expire, del, ttl", async () => {
      expect(await redis.set(k("s"), "value", { ex: 60 })).toBe("OK");
      expect(await redis.get(k("s"))).toBe("value");
      const ttl = await redis.ttl(k("s"));
      expect(ttl).toBeGreaterThan(50);
      expect(ttl).toBeLessThanOrEqual(60);
      expect(await redis.set(k("nx"), "first", { nx: true })).toBe("OK");
      expect(await redis.set(k("nx"), "second", { nx: true })).toBeNull();
      expect(await redis.get(k("nx"))).toBe("first");
      expect(await redis.incr(k("n"))).toBe(1);
      expect(await redis.incr(k("n"))).toBe(2);
      expect(await redis.expire(k("n"), 30)).toBe(1);
      expect(await redis.ttl(k("n"))).toBeGreaterThan(20);
      expect(await redis.del(k("n"), k("nx"))).toBe(2);
      expect(await redis.get(k("n"))).toBeNull();
      expect(await redis.ttl(k("n"))).toBe(-2);
    });

    it("mget, JSON values, hashes", async () => {
      await redis.set(k("a"), "alpha");
      await redis.set(k("obj"), { id: 7, tags: ["x", "y"], nested: { ok: true }, text: "héllo ✓" });
      expect(await redis.mget(k("a"), k("missing"), k("obj"))).toEqual(["alpha", null, { id: 7, tags: ["x", "y"], nested: { ok: true }, text: "héllo ✓" }]);
      expect(await redis.hset(k("h"), { name: "sparki", runs: 3 })).toBe(2);
      expect(await redis.hgetall(k("h"))).toEqual({ name: "sparki", runs: 3 });
      expect(await redis.zadd(k("z"), { score: 2, member: "two" }, { score: 1, member: "one" })).toBe(2);
      expect(await redis.zrange(k("z"), 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2]);
    });

    it("pipelines and multi-exec transactions", async () => {
      const p = redis.pipeline();
      p.set(k("p1"), "one");
      p.incr(k("p2"));
      p.incrby(k("p2"), 4);
      p.get(k("p1"));
      expect(await p.exec()).toEqual(["OK", 1, 5, "one"]);
      const failing = redis.pipeline();
      failing.incr(k("p1"));
      failing.get(k("p1"));
      const kept = await failing.exec({ keepErrors: true });
      expect(kept[0]?.error).toMatch(/not an integer/);
      expect(kept[1]).toEqual({ error: undefined, result: "one" });

      const tx = redis.multi();
      tx.set(k("tx"), 10);
      tx.incrby(k("tx"), 5);
      tx.get(k("tx"));
      expect(await tx.exec()).toEqual(["OK", 15, 15]);
      const partly = redis.multi();
      partly.incr(k("p1"));
      partly.incr(k("tx"));
      const outcome = await partly.exec({ keepErrors: true });
      expect(outcome[0]?.error).toMatch(/not an integer/);
      expect(outcome[1]?.result).toBe(16);
    });

    it("runs Lua with EVAL, EVALSHA and scripts", async () => {
      const lua = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
      expect(await redis.eval(lua, [k("lua")], [3])).toBe(3);
      const sha = await redis.scriptLoad(lua);
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
      expect(await redis.scriptExists(sha)).toEqual([1]);
      expect(await redis.evalsha(sha, [k("lua")], [4])).toBe(7);
      const script = redis.createScript<number>("return redis.call('INCRBY', KEYS[1], ARGV[1]) * 10");
      expect(await script.exec([k("lua")], ["1"])).toBe(80);
      await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
    });

    it("answers the raw protocol: base64 only when asked, errors as non-2xx {error}", async () => {
      await redis.set(k("b"), "héllo");
      const encoded = await post("/", JSON.stringify(["MGET", k("b"), k("missing")]), { "Upstash-Encoding": "base64" });
      expect(await encoded.json()).toEqual({ result: [Buffer.from("héllo").toString("base64"), null] });
      const plain = await post("/pipeline", JSON.stringify([["GET", k("b")], ["EXISTS", k("b")], ["NOPE"]]));
      const results = (await plain.json()) as Array<{ result?: unknown; error?: string }>;
      expect(results.slice(0, 2)).toEqual([{ result: "héllo" }, { result: 1 }]);
      expect(results[2]?.error).toMatch(/unknown command/i);

      const wrongToken = new Redis({ url: shim.url, token: "wrong", enableTelemetry: false });
      await expect(wrongToken.get(k("b"))).rejects.toThrow(/Unauthorized/);
      expect((await fetch(`${shim.url}/`, { method: "POST", body: "[]" })).status).toBe(401);

      const malformed = await post("/", "{not json");
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: string }).error).toMatch(/JSON/);
      expect((await post("/", JSON.stringify({ cmd: "GET" }))).status).toBe(400);
      expect((await post("/pipeline", JSON.stringify([]))).status).toBe(400);
      // ioredis-mock does not check arity (SET with no key answers OK); real Redis does.
      if (redisUrl) expect((await post("/", JSON.stringify(["SET"]))).status).toBe(400);
      expect((await post("/nowhere", "[]")).status).toBe(404);
      // Still serving after all that.
      expect(await redis.get(k("b"))).toBe("héllo");
    });
  });
}

describe.skipIf(process.env.SPARKI_NO_LOCAL_REDIS === "1")("upstash-shim namespaces a shared real Redis", () => {
  const url = "redis://127.0.0.1:6379";
  const client = (shim: UpstashShim): Redis => new Redis({ url: shim.url, token: TOKEN, enableTelemetry: false });

  it("keeps two stacks' keys apart, rewrites KEYS, SCAN and FLUSHDB to its own keys, and deletes them on close", async () => {
    const one = await startUpstashShim({ token: TOKEN, redisUrl: url });
    const two = await startUpstashShim({ token: TOKEN, redisUrl: url });
    const direct = new IORedis(url);
    try {
      expect(one.keyPrefix).toMatch(/^sparki:[0-9a-f]{12}:$/);
      expect(two.keyPrefix).not.toBe(one.keyPrefix);
      const [a, b] = [client(one), client(two)];
      // The login limiter's shape: a window key set with NX and EX, then counted, in one transaction.
      for (const r of [a, a, b]) {
        const tx = r.multi();
        tx.set("rl:login-ip:127.0.0.1:1", 0, { ex: 60, nx: true });
        tx.incr("rl:login-ip:127.0.0.1:1");
        await tx.exec();
      }
      expect(await a.get("rl:login-ip:127.0.0.1:1")).toBe(2);
      expect(await b.get("rl:login-ip:127.0.0.1:1")).toBe(1);
      expect(await direct.get(`${one.keyPrefix}rl:login-ip:127.0.0.1:1`)).toBe("2");

      await a.set("other", "x");
      expect((await a.keys("*")).sort()).toEqual(["other", "rl:login-ip:127.0.0.1:1"]);
      expect(await b.keys("*")).toEqual(["rl:login-ip:127.0.0.1:1"]);
      const scanned: string[] = [];
      let cursor: string | number = 0;
      do {
        const [next, batch]: [string, string[]] = await a.scan(cursor, { match: "rl:*", count: 100 });
        scanned.push(...batch);
        cursor = next;
      } while (String(cursor) !== "0");
      expect(scanned).toEqual(["rl:login-ip:127.0.0.1:1"]);
      expect(await a.dbsize()).toBe(2);
      await expect(a.randomkey()).rejects.toThrow(/not available/);

      expect(await b.flushdb()).toBe("OK");
      expect(await b.dbsize()).toBe(0);
      expect(await a.dbsize()).toBe(2);
    } finally {
      await one.close();
      await two.close();
    }
    expect(await direct.keys(`${one.keyPrefix}*`)).toEqual([]);
    direct.disconnect();
  });
});
