/** Bounded R2 deletion for the retention sweep. */

/** R2 and object calls left to one sweep run. */
export interface Budget {
  /** Takes `n` calls; false (and nothing taken) when fewer are left. */
  take(n: number): boolean;
  spent(): boolean;
}

/**
 * Deletes every object under `prefix`, a page (at most 1,000 keys, R2's limit per call) at a
 * time, two calls a page. False when the budget ran out first; the objects deleted so far stay
 * deleted and a later run lists what is left.
 */
export async function deleteUnder(bucket: R2Bucket, prefix: string, budget: Budget, report: { objects: number }): Promise<boolean> {
  for (;;) {
    if (!budget.take(1)) return false;
    // Always from the start: the previous page's keys are gone, so no cursor is needed.
    const listed = await bucket.list({ prefix, limit: 1000 });
    if (listed.objects.length === 0) return true;
    if (!budget.take(1)) return false;
    await bucket.delete(listed.objects.map((o) => o.key));
    report.objects += listed.objects.length;
    if (!listed.truncated) return true;
  }
}
