import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { Bindings } from "../../server/config.js";
import { Registry, Sample } from "../../server/metrics/registry.js";
import type { MetricsRpc } from "../../server/objects/metrics/protocol.js";
import { objectLogger } from "../../server/log.js";

const Stored = z.array(Sample);
const GaugeUpdate = z.object({
  name: z.string().min(1),
  scope: z.record(z.string(), z.string()),
  series: z.array(z.object({ labels: z.record(z.string(), z.string()), value: z.number() })),
});

/**
 * Metrics: one instance for the whole deployment. Isolates send it their deltas; it keeps the
 * totals (in storage, so a restart loses nothing) and renders them for Prometheus.
 */
export class Metrics extends DurableObject<Bindings> implements MetricsRpc {
  readonly #registry = new Registry();

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const raw = await ctx.storage.get("samples");
      const stored = Stored.safeParse(raw);
      if (stored.success) this.#registry.merge(stored.data);
      else if (raw !== undefined)
        objectLogger(env, "metrics", null).error("stored metric totals are unreadable; counting from zero", { issues: stored.error.issues.length });
    });
  }

  async record(deltas: Sample[]): Promise<void> {
    this.#registry.merge(Stored.parse(deltas));
    objectLogger(this.env, "metrics", null).debug(`recorded ${deltas.length} sample(s)`, { samples: deltas.length });
    await this.ctx.storage.put("samples", [...this.#registry.samples.values()]);
  }

  async replaceGauges(name: string, scope: Record<string, string>, series: { labels: Record<string, string>; value: number }[]): Promise<void> {
    const parsed = GaugeUpdate.parse({ name, scope, series });
    this.#registry.replaceGauges(parsed.name, parsed.scope, parsed.series);
    await this.ctx.storage.put("samples", [...this.#registry.samples.values()]);
  }

  async render(): Promise<string> {
    return this.#registry.render();
  }
}
