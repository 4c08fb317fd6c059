/**
 * Which size a benchmark runs at. `npm run bench` runs the full sizes, whose figures
 * docs/PERFORMANCE.md records; `npm run bench:smoke` (and so .ci/run) sets BENCH_SIZE=smoke: the
 * same code path at a size that finishes in seconds, so a benchmark that no longer works fails CI
 * instead of being found broken the next time someone wants its figures. Smoke figures are
 * printed, but measure nothing worth keeping.
 */
export const smoke = process.env.BENCH_SIZE === "smoke";

/** "full size" or "SMOKE SIZE", for a benchmark's first line and its SUMMARY. */
export const sizeLabel = smoke ? "SMOKE SIZE (not a performance figure)" : "full size";

/**
 * A size: the environment variable `variable` when it is set (to scale a run by hand), else the
 * smoke or the full default.
 */
export function size(variable: string, full: number, smokeSize: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === "") return smoke ? smokeSize : full;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${variable}=${raw}: expected a number ≥ 0`);
  return value;
}
