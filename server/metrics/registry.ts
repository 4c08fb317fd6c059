/**
 * Prometheus counters and histograms as plain data: isolates accumulate deltas in one of these,
 * the Metrics object merges deltas into its own, and renders the text exposition format.
 * Pure: no runtime imports, so it is tested on its own.
 */
import { z } from "zod";

/** Request latencies: 5 ms to 10 s. */
export const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Build durations: 10 s to 1 h. */
export const buildBuckets = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600] as const;

const Labels = z.record(z.string(), z.string());
export const Sample = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("counter"), name: z.string(), labels: Labels, value: z.number() }),
  /** A value as it is now (jobs waiting): a merge replaces it rather than adding. */
  z.object({ kind: z.literal("gauge"), name: z.string(), labels: Labels, value: z.number() }),
  /** A gauge told in steps (+1 a connection opened, -1 it ended): a merge adds. */
  z.object({ kind: z.literal("updown"), name: z.string(), labels: Labels, value: z.number() }),
  z.object({
    kind: z.literal("histogram"),
    name: z.string(),
    labels: Labels,
    buckets: z.array(z.number()),
    counts: z.array(z.number()),
    sum: z.number(),
    count: z.number(),
  }),
]);
export type Sample = z.infer<typeof Sample>;

/**
 * Every metric /metrics can show, its type and help text: the one list of names (a name missing
 * here still renders, with its name as help). ops/ dashboards and alerts are checked against it.
 */
export const metricCatalog: Readonly<Record<string, { type: Sample["kind"]; help: string }>> = {
  sparki_api_request_duration_seconds: { type: "histogram", help: "API request duration, by route pattern." },
  sparki_api_request_errors_total: { type: "counter", help: "API requests answered with a 4xx or 5xx, by problem type." },
  sparki_api_active_connections: {
    type: "updown",
    help: "Open WebSocket connections: live log viewers and runners' log streams on build coordinators, viewers on deployments; by object and kind.",
  },
  sparki_build_duration_seconds: {
    type: "histogram",
    help: "Wall time of finished builds, by framework (one Sparki detects; `other` for any other name, `unknown` for none).",
  },
  sparki_build_success_total: {
    type: "counter",
    help: "Builds that succeeded, by framework (one Sparki detects; `other` for any other name, `unknown` for none).",
  },
  sparki_build_cache_hits_total: { type: "counter", help: "Dependency cache lookups that found an entry (exact key or a restore prefix)." },
  sparki_build_cache_misses_total: { type: "counter", help: "Dependency cache lookups that found nothing." },
  sparki_build_cache_restored_bytes_total: { type: "counter", help: "Bytes of dependency cache archives sent to runners." },
  sparki_build_cache_saved_bytes_total: { type: "counter", help: "Bytes of dependency cache archives stored from runners." },
  sparki_builds_finished_total: { type: "counter", help: "Builds that finished, by status." },
  sparki_deployment_duration_seconds: {
    type: "histogram",
    help: "Wall time of each stage of a finished deployment, from its deploy to its end, by stage (production, staging, qa, development, preview or other) and platform.",
  },
  sparki_deployment_success_total: {
    type: "counter",
    help: "Stages of deployments that reached every stage healthy, by stage (as in the duration) and platform.",
  },
  sparki_deployment_rollback_total: { type: "counter", help: "Deployments rolled back, by reason (health_check, deploy_failed, timeout, cancelled, manual)." },
  sparki_deployments_finished_total: { type: "counter", help: "Deployments that finished, by status." },
  sparki_jobs_waiting: {
    type: "gauge",
    help: "Jobs offered to a runner pool and not yet claimed, by pool and by the labels they ask for (sorted, comma-joined).",
  },
  sparki_runners_online: { type: "gauge", help: "Runners online in a pool that fit a label set jobs wait for, by pool and labels (absent: none online)." },
  sparki_pool_runners_online: {
    type: "gauge",
    help: "Runners online in a pool (claimed or heartbeated lately), whatever their labels, by pool: 0 while every runner it remembers is offline, absent once it remembers none (a runner is forgotten when it disconnects, or a day after it was last heard from).",
  },
  sparki_queue_wait_seconds: { type: "histogram", help: "Time from a job's offer to a runner pool until the pool handed it to a runner, by pool." },
};

const keyOf = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",")}}`;

/** The series a change touched, by key: those to write again, and those gone. */
export interface Changed {
  set: string[];
  deleted: string[];
}

export class Registry {
  readonly samples = new Map<string, Sample>();

  inc(name: string, labels: Record<string, string>, by = 1): void {
    const key = keyOf(name, labels);
    const s = this.samples.get(key);
    if (s?.kind === "counter") s.value += by;
    else this.samples.set(key, { kind: "counter", name, labels, value: by });
  }

  observe(name: string, labels: Record<string, string>, value: number, buckets: readonly number[]): void {
    const key = keyOf(name, labels);
    let s = this.samples.get(key);
    if (s?.kind !== "histogram") {
      s = { kind: "histogram", name, labels, buckets: [...buckets], counts: buckets.map(() => 0), sum: 0, count: 0 };
      this.samples.set(key, s);
    }
    // Each observation counts in its own bucket only; render() makes the counts cumulative.
    const bucket = s.buckets.findIndex((le) => value <= le);
    if (bucket >= 0) s.counts[bucket] = (s.counts[bucket] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }

  /**
   * Replaces every series of gauge `name` whose labels include `scope` with `series` (one
   * source's whole picture, such as one pool's waiting jobs); zeros are left out, so a series
   * that empties disappears instead of piling up.
   */
  replaceGauges(name: string, scope: Record<string, string>, series: readonly { labels: Record<string, string>; value: number }[]): Changed {
    const changed: Changed = { set: [], deleted: [] };
    for (const [key, s] of this.samples) {
      if (s.name === name && s.kind === "gauge" && Object.entries(scope).every(([k, v]) => s.labels[k] === v)) {
        this.samples.delete(key);
        changed.deleted.push(key);
      }
    }
    for (const { labels, value } of series) {
      if (value === 0) continue;
      const all = { ...labels, ...scope };
      const key = keyOf(name, all);
      this.samples.set(key, { kind: "gauge", name, labels: all, value });
      changed.set.push(key);
    }
    changed.deleted = changed.deleted.filter((key) => !this.samples.has(key));
    return changed;
  }

  /** Adds another registry's samples (an isolate's deltas) into this one; returns the keys it changed. */
  merge(deltas: readonly Sample[]): string[] {
    const changed: string[] = [];
    for (const d of deltas) {
      const key = keyOf(d.name, d.labels);
      changed.push(key);
      const s = this.samples.get(key);
      if (d.kind === "gauge") {
        this.samples.set(key, { ...d, labels: { ...d.labels } });
      } else if (d.kind === "counter" || d.kind === "updown") {
        if (s?.kind === d.kind) s.value += d.value;
        else this.samples.set(key, { ...d, labels: { ...d.labels } });
      } else if (s?.kind === "histogram" && s.buckets.join() === d.buckets.join()) {
        d.counts.forEach((n, i) => {
          s.counts[i] = (s.counts[i] ?? 0) + n;
        });
        s.sum += d.sum;
        s.count += d.count;
      } else {
        this.samples.set(key, { ...d, labels: { ...d.labels }, counts: [...d.counts], buckets: [...d.buckets] });
      }
    }
    return changed;
  }

  /** Takes the samples out, leaving the registry empty (an isolate's flush). */
  drain(): Sample[] {
    const out = [...this.samples.values()];
    this.samples.clear();
    return out;
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(): string {
    const byName = new Map<string, Sample[]>();
    for (const s of this.samples.values()) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
    const lines: string[] = [];
    for (const name of [...byName.keys()].sort()) {
      const samples = byName.get(name) ?? [];
      lines.push(`# HELP ${name} ${metricCatalog[name]?.help ?? name}`);
      const kind = samples[0]?.kind ?? "counter";
      lines.push(`# TYPE ${name} ${kind === "updown" ? "gauge" : kind}`);
      for (const s of samples) {
        if (s.kind === "counter" || s.kind === "gauge" || s.kind === "updown") {
          lines.push(`${name}${labelText(s.labels)} ${s.value}`);
          continue;
        }
        let cumulative = 0;
        s.buckets.forEach((le, i) => {
          cumulative += s.counts[i] ?? 0;
          lines.push(`${name}_bucket${labelText({ ...s.labels, le: String(le) })} ${cumulative}`);
        });
        lines.push(`${name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
        lines.push(`${name}_sum${labelText(s.labels)} ${s.sum}`);
        lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}

function labelText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}
