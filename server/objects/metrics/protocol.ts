/** What the one Metrics object answers: every isolate's and object's samples, added up. */
import type { Sample } from "../../metrics/registry.js";

/** What a stub of the Metrics object answers (server/objects/clients.ts hands it out). */
export interface MetricsRpc extends Rpc.DurableObjectBranded {
  /** Adds an isolate's or object's deltas to the totals. */
  record(deltas: Sample[]): Promise<void>;
  /**
   * Replaces the series of gauge `name` within `scope` (e.g. one pool's `sparki_jobs_waiting`)
   * with `series`; zeros are dropped.
   */
  replaceGauges(name: string, scope: Record<string, string>, series: { labels: Record<string, string>; value: number }[]): Promise<void>;
  /** The totals in Prometheus' text format. */
  render(): Promise<string>;
}
