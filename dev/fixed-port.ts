/**
 * A free port for a stack that must keep its address across restarts (its runner stores the URL).
 * Below Linux's ephemeral range (32768+): the stack's own cache and proxy bind port 0 after this
 * pick, and once were handed this very port. The search starts at a random point of the range:
 * two suites on one machine, starting the same file at the same moment, were both handed its
 * first free port, and the second stack's wrangler found it taken three times.
 */
import getPort, { portNumbers } from "get-port";

const lowest = 20_000;
const highest = 32_000;

export async function fixedStackPort(): Promise<number> {
  const start = lowest + Math.floor(Math.random() * (highest - lowest));
  return getPort({ host: "127.0.0.1", port: [...portNumbers(start, highest), ...portNumbers(lowest, start)] });
}
