/**
 * Runs two measurements in turn, `a` first in even rounds and `b` first in odd ones: on 2 shared
 * cores whatever one leaves running (a flush, a GC, a cooling cache) falls on the next, so neither
 * may always be the one that follows.
 */
export async function inTurn(round: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<void> {
  for (const run of round % 2 === 0 ? [a, b] : [b, a]) await run();
}
