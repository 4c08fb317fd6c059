import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadCommonPasswords } from "./common-passwords.js";

/** An assets binding that answers every request with this response. */
const assetsAnswering = (body: string, contentType: string, status = 200): Fetcher =>
  ({ fetch: async () => new Response(body, { status, headers: { "content-type": contentType } }) }) as unknown as Fetcher;

describe("the common-password list from the Worker's assets", () => {
  it("is the list npm run build:web wrote", async () => {
    const list = await loadCommonPasswords(env.ASSETS);
    expect(list.has("password123")).toBe(true);
    expect(list.size).toBeGreaterThan(1000);
  });

  it("fails closed on assets without it: a missing file, the dashboard's page in its place", async () => {
    await expect(loadCommonPasswords(assetsAnswering("Not found", "text/plain", 404))).rejects.toThrow(/no common-password list/);
    await expect(loadCommonPasswords(assetsAnswering("<!doctype html><p>Sparki</p>", "text/html"))).rejects.toThrow(/no common-password list/);
    await expect(loadCommonPasswords(assetsAnswering("<!doctype html><p>Sparki</p>", "text/plain"))).rejects.toThrow(/not the common-password list/);
  });
});
