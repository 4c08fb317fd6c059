/**
 * The cache-aside race, against the Upstash protocol (dev/upstash-shim.ts, over real HTTP): a
 * request loads the old state, a change lands and invalidates, then the request fills. The old
 * state must not come back for a TTL (it once kept a rolled-back site serving its broken version).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { z } from "zod";
import { startUpstashShim, type UpstashShim } from "../../dev/upstash-shim.ts";
import { Cache } from "./cache.ts";

const TOKEN = "cache-test-token";
const Site = z.object({ live: z.string() });
let shim: UpstashShim;
const errors: unknown[] = [];
/** A request's cache: its own memo, as each Worker request gets. */
const requestCache = () => new Cache(shim.url, TOKEN, (_op, err) => errors.push(err));

beforeAll(async () => {
  shim = await startUpstashShim({ token: TOKEN });
});
afterAll(async () => {
  await shim?.close();
});

it("a fill of what was loaded before a change does not put it back after the change's invalidation", async () => {
  const key = `site:${crypto.randomUUID()}`;
  let loaded!: () => void;
  const loading = new Promise<void>((resolve) => (loaded = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  // A visitor's request misses and reads the alias while it still points at the broken version.
  const visitor = requestCache().getOrLoad(key, 600, Site, async () => {
    loaded();
    await released;
    return { live: "broken" };
  });
  await loading;
  // The rollback switches the alias and invalidates; only then does the visitor's request fill.
  await requestCache().remove(key);
  release();
  expect(await visitor).toEqual({ live: "broken" });

  const next = requestCache();
  expect(await next.read(key, Site)).toBeUndefined();
  expect(await next.getOrLoad(key, 600, Site, async () => ({ live: "good" }))).toEqual({ live: "good" });
  expect(errors).toEqual([]);
});

it("fills a key nobody changed, and a later request reads it without loading", async () => {
  const key = `site:${crypto.randomUUID()}`;
  await requestCache().getOrLoad(key, 600, Site, async () => ({ live: "v1" }));
  let loads = 0;
  const again = await requestCache().getOrLoad(key, 600, Site, async () => (loads++, { live: "v2" }));
  expect(again).toEqual({ live: "v1" });
  expect(loads).toBe(0);
  expect(errors).toEqual([]);
});
