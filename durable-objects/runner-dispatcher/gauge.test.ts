import { expect, it } from "vitest";
import { Registry } from "../../server/metrics/registry.js";
import { maxGaugeLabelSets } from "../../server/objects/runner-dispatcher/protocol.js";
import { gaugeSeries, isOnline, poolRunners } from "./gauge.js";

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

it("counts a pool's runners online, and says when the count next changes without any call", () => {
  const window = 90_000;
  const keep = 24 * 3600 * 1000;
  const now = 1_000_000_000;
  // Two heard from within the window, one before it: two online, until the older of the two drops out.
  expect(poolRunners([now - 10_000, now - 30_000, now - 200_000], now, window, keep)).toEqual({
    online: 2,
    remembered: true,
    nextChangeAt: now - 30_000 + window + 1,
  });
  // All offline but remembered: a series at 0, until the last of them is forgotten.
  expect(poolRunners([now - 200_000, now - 100_000], now, window, keep)).toEqual({ online: 0, remembered: true, nextChangeAt: now - 200_000 + keep + 1 });
  expect(poolRunners([], now, window, keep)).toEqual({ online: 0, remembered: false, nextChangeAt: null });
  expect(isOnline(now - window, now, window)).toBe(true);
  expect(isOnline(now - window - 1, now, window)).toBe(false);
});
