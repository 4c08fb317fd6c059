import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { Bindings } from "../../server/config.js";
import { type Changed, Registry, Sample } from "../../server/metrics/registry.js";
import type { MetricsRpc } from "../../server/objects/metrics/protocol.js";
import { objectLogger } from "../../server/log.js";

const Stored = z.array(Sample);
const GaugeUpdate = z.object({
  name: z.string().min(1),
  scope: z.record(z.string(), z.string()),
  series: z.array(z.object({ labels: z.record(z.string(), z.string()), value: z.number() })),
});

/** Each series is stored under a key of its own, so a call writes only the series it changed. */
const seriesPrefix = "series:";
/** Where totals were kept before, all in one value rewritten on every call; read once and moved. */
const legacyKey = "samples";

/**
 * Metrics: one instance for the whole deployment. Isolates send it their deltas; it keeps the
 * totals (in storage, so a restart loses nothing) and renders them for Prometheus.
 */
export class Metrics extends DurableObject<Bindings> implements MetricsRpc {
  readonly #registry = new Registry();

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const unreadable = (issues: number) =>
        objectLogger(env, "metrics", null).error("stored metric totals are unreadable; counting them from zero", { issues });
      const stored = await ctx.storage.list({ prefix: seriesPrefix });
      const samples: Sample[] = [];
      for (const value of stored.values()) {
        const sample = Sample.safeParse(value);
        if (sample.success) samples.push(sample.data);
        else unreadable(sample.error.issues.length);
      }
      this.#registry.merge(samples);
      const legacy = await ctx.storage.get(legacyKey);
      if (legacy !== undefined) {
        const parsed = Stored.safeParse(legacy);
        if (parsed.success) await this.#write({ set: this.#registry.merge(parsed.data), deleted: [] });
        else unreadable(parsed.error.issues.length);
        await ctx.storage.delete(legacyKey);
      }
    });
  }

  async record(deltas: Sample[]): Promise<void> {
    const changed = this.#registry.merge(Stored.parse(deltas));
    objectLogger(this.env, "metrics", null).debug(`recorded ${deltas.length} sample(s)`, { samples: deltas.length });
    await this.#write({ set: changed, deleted: [] });
  }

  async replaceGauges(name: string, scope: Record<string, string>, series: { labels: Record<string, string>; value: number }[]): Promise<void> {
    const parsed = GaugeUpdate.parse({ name, scope, series });
    await this.#write(this.#registry.replaceGauges(parsed.name, parsed.scope, parsed.series));
  }

  /** Writes the series a call changed (storage takes at most 128 keys per put or delete). */
  async #write(changed: Changed): Promise<void> {
    const set = [...new Set(changed.set)];
    for (let i = 0; i < set.length; i += 128) {
      const entries: Record<string, Sample> = {};
      for (const key of set.slice(i, i + 128)) {
        const sample = this.#registry.samples.get(key);
        if (sample) entries[seriesPrefix + key] = sample;
      }
      await this.ctx.storage.put(entries);
    }
    for (let i = 0; i < changed.deleted.length; i += 128) await this.ctx.storage.delete(changed.deleted.slice(i, i + 128).map((key) => seriesPrefix + key));
  }

  async render(): Promise<string> {
    return this.#registry.render();
  }
}
