/**
 * wrangler.toml and server/config.ts must name the same bindings: a resource bound in one and not
 * the other is a Worker that starts without it (or a type that lies), and a [vars] key that Config
 * does not know is a setting nothing reads.
 */
import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Config, resourceBindings, type ResourceKind } from "./config.js";

const Named = z.array(z.object({ binding: z.string() }));

/**
 * The sections of wrangler.toml this test understands. Strict: a new section (kv_namespaces,
 * services, d1_databases...) fails here until it is either read as bindings below or listed as
 * settings that bind nothing.
 */
const Wrangler = z.strictObject({
  name: z.string(),
  main: z.string(),
  compatibility_date: z.string(),
  compatibility_flags: z.array(z.string()).optional(),
  minify: z.boolean().optional(),
  upload_source_maps: z.boolean().optional(),
  keep_names: z.boolean().optional(),
  // Module aliases for the bundle (the Worker's zod without its locales); they bind nothing.
  alias: z.record(z.string(), z.string()).optional(),
  // The retention sweep's cron; a schedule, not a binding.
  triggers: z.strictObject({ crons: z.array(z.string()) }).optional(),
  migrations: z.array(z.unknown()).optional(),
  vars: z.record(z.string(), z.unknown()).default({}),
  r2_buckets: Named.default([]),
  services: z.array(z.strictObject({ binding: z.string(), service: z.string(), entrypoint: z.string().optional() })).default([]),
  queues: z.strictObject({ producers: Named.default([]), consumers: z.array(z.unknown()).optional() }).default({ producers: [] }),
  durable_objects: z.strictObject({ bindings: z.array(z.object({ name: z.string() })) }).default({ bindings: [] }),
  assets: z.object({ binding: z.string().optional() }).optional(),
});

const wrangler = Wrangler.parse(parse(readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8")));

/** Every binding wrangler.toml declares, as `NAME kind`, sorted. */
function declared(): string[] {
  const pairs: [string, ResourceKind][] = [
    ...wrangler.r2_buckets.map((b): [string, ResourceKind] => [b.binding, "r2_bucket"]),
    ...wrangler.services.map((b): [string, ResourceKind] => [b.binding, "service"]),
    ...wrangler.queues.producers.map((b): [string, ResourceKind] => [b.binding, "queue"]),
    ...wrangler.durable_objects.bindings.map((b): [string, ResourceKind] => [b.name, "durable_object"]),
    ...(wrangler.assets?.binding ? [[wrangler.assets.binding, "assets"] as [string, ResourceKind]] : []),
  ];
  return pairs.map(([name, kind]) => `${name} ${kind}`).sort();
}

describe("wrangler.toml and server/config.ts", () => {
  it("bind the same resources, each of the same kind", () => {
    const typed = Object.entries(resourceBindings)
      .map(([name, kind]) => `${name} ${kind}`)
      .sort();
    expect(declared()).toEqual(typed);
  });

  it("declare only vars that Config reads, each with a value it accepts", () => {
    const known = new Set(Object.keys(Config.shape));
    for (const [key, value] of Object.entries(wrangler.vars)) {
      expect(known.has(key), `[vars] ${key} is not a key of Config`).toBe(true);
      const field = Config.shape[key as keyof typeof Config.shape];
      expect(field.safeParse(value).success, `[vars] ${key} = ${JSON.stringify(value)} is not valid`).toBe(true);
    }
  });

  it("never use one name for both a resource and a var", () => {
    const vars = new Set(Object.keys(Config.shape));
    expect(Object.keys(resourceBindings).filter((name) => vars.has(name))).toEqual([]);
  });
});
