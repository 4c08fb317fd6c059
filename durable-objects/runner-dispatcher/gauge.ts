/**
 * A pool's waiting jobs as `sparki_jobs_waiting` series. Label sets come from pipelines, so a
 * tenant could make any number of them: the largest {@link maxGaugeLabelSets} get a series
 * each and the rest are summed under one, so a pool never has more series than that.
 */
import { gaugeLabels, maxGaugeLabelSets, otherLabels, type QueuedLabels } from "../../server/objects/runner-dispatcher/protocol.js";

export function gaugeSeries(queue: readonly QueuedLabels[]): { labels: Record<string, string>; value: number }[] {
  const bySize = [...queue].sort((a, b) => b.jobs - a.jobs || gaugeLabels(a.labels).localeCompare(gaugeLabels(b.labels)));
  const shown = bySize.slice(0, maxGaugeLabelSets).map((q) => ({ labels: { labels: gaugeLabels(q.labels) }, value: q.jobs }));
  const rest = bySize.slice(maxGaugeLabelSets).reduce((sum, q) => sum + q.jobs, 0);
  return rest > 0 ? [...shown, { labels: { labels: otherLabels }, value: rest }] : shown;
}
