/**
 * The one way a test waits: poll a probe until it yields a value, or fail naming what was awaited.
 * Tests wait on state (a row, a frame, a line of output), never on a guess of how long something
 * takes; the timeout only bounds a wait that would otherwise hang.
 *
 * Runs on Node and inside workerd (no Node imports). The clock and timer are taken when this module
 * loads, so a test that fakes `Date` or `setTimeout` (vi.useFakeTimers) still polls in real time.
 */
const realNow = Date.now.bind(Date);
const realSetTimeout = globalThis.setTimeout.bind(globalThis);

export interface UntilOptions {
  /** Between two probes; short, since a probe is cheap and a wait is what slows a suite. */
  intervalMs?: number;
  /** Extra context for the failure message (a process's output, the frames so far). */
  diagnostics?: () => string | Promise<string>;
}

/** What a probe yields: a value ends the wait; undefined, null or false means "not yet". */
export type Probe<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/**
 * Polls `probe` until it returns something other than undefined, null or false, and returns that.
 * A probe that throws counts as "not yet" (a server still starting refuses connections); its last
 * error goes into the timeout's message, after `what` and the diagnostics.
 */
export async function until<T>(what: string, probe: Probe<T>, timeoutMs = 10_000, opts: UntilOptions = {}): Promise<T> {
  const deadline = realNow() + timeoutMs;
  let lastError = "";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (realNow() > deadline) {
      const extra = opts.diagnostics ? `\n${await opts.diagnostics()}` : "";
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}${extra}`);
    }
    await new Promise((r) => realSetTimeout(r, opts.intervalMs ?? 50));
  }
}
