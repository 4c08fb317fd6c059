/**
 * The planner Worker has no door of its own: only the API's service binding reaches it. Checked
 * in both Workers' configs, which are what `wrangler deploy` publishes.
 */
import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";

const toml = (path: string) => parse(readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")) as Record<string, unknown>;

describe("the planner Worker's exposure", () => {
  it("has no route, no workers.dev address and no preview URLs", () => {
    const planner = toml("planner/wrangler.toml");
    expect(planner.workers_dev).toBe(false);
    expect(planner.preview_urls).toBe(false);
    expect(planner.route).toBeUndefined();
    expect(planner.routes).toBeUndefined();
  });

  it("is bound by the API by its Planner entrypoint, under its own name", () => {
    const api = toml("wrangler.toml");
    expect(api.services).toEqual([{ binding: "PLANNER", service: toml("planner/wrangler.toml").name, entrypoint: "Planner" }]);
  });
});
