import { expect, it } from "vitest";
import { Registry } from "../../server/metrics/registry.js";
import { maxGaugeLabelSets } from "../../server/objects/runner-dispatcher/protocol.js";
import { gaugeSeries } from "./gauge.js";

it("gives the largest label sets a series each and sums the rest, so a pool's series stay bounded", () => {
  const queue = Array.from({ length: maxGaugeLabelSets + 5 }, (_, i) => ({ labels: [`l${String(i).padStart(2, "0")}`, "a"], jobs: i + 1, oldestAt: i }));
  const series = gaugeSeries(queue);
  expect(series).toHaveLength(maxGaugeLabelSets + 1);
  expect(series[0]).toEqual({ labels: { labels: `a,l${maxGaugeLabelSets + 4}` }, value: maxGaugeLabelSets + 5 });
  // The five smallest (1 to 5 jobs) are summed into one series.
  expect(series.at(-1)).toEqual({ labels: { labels: "(other)" }, value: 1 + 2 + 3 + 4 + 5 });
  expect(series.reduce((n, s) => n + s.value, 0)).toBe(queue.reduce((n, q) => n + q.jobs, 0));
});

it("replaces one pool's series as a whole, leaving other pools alone and dropping zeros", () => {
  const r = new Registry();
  r.replaceGauges("sparki_jobs_waiting", { pool: "shared" }, [{ labels: { labels: "linux" }, value: 3 }]);
  r.replaceGauges("sparki_jobs_waiting", { pool: "workspace:w" }, [
    { labels: { labels: "" }, value: 2 },
    { labels: { labels: "gpu" }, value: 1 },
  ]);
  r.replaceGauges("sparki_jobs_waiting", { pool: "workspace:w" }, [
    { labels: { labels: "" }, value: 1 },
    { labels: { labels: "gpu" }, value: 0 },
  ]);
  expect(r.render().split("\n")).toEqual([
    expect.stringMatching(/^# HELP sparki_jobs_waiting /),
    "# TYPE sparki_jobs_waiting gauge",
    'sparki_jobs_waiting{labels="linux",pool="shared"} 3',
    'sparki_jobs_waiting{labels="",pool="workspace:w"} 1',
    "",
  ]);
  // A merged gauge sample (as from storage) is set, never added.
  r.merge([{ kind: "gauge", name: "sparki_jobs_waiting", labels: { labels: "linux", pool: "shared" }, value: 5 }]);
  expect(r.render()).toContain('sparki_jobs_waiting{labels="linux",pool="shared"} 5');
});
