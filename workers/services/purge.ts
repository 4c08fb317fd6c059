/**
 * Removes a deleted project's R2 objects: everything under `projects/{id}/` (build logs and
 * artifacts, published sites, detection snapshots). Listing and deleting what is listed is
 * idempotent, so a retried or repeated purge simply finds less to do.
 */
import { projectPrefix } from "../../server/r2-keys.js";

/**
 * Deletes up to `maxPages` pages of the project's objects; returns how many were deleted and
 * whether any remain (the caller sends the work on rather than holding one invocation long).
 * R2 lists and deletes at most 1,000 keys per call.
 */
export async function purgeProjectObjects(
  bucket: R2Bucket,
  projectId: string,
  { maxPages = 10, pageSize = 1000 } = {},
): Promise<{ deleted: number; more: boolean }> {
  const prefix = projectPrefix(projectId);
  let deleted = 0;
  for (let page = 0; page < maxPages; page++) {
    // Always from the start: the previous page's keys are gone, so no cursor is needed.
    const listed = await bucket.list({ prefix, limit: pageSize });
    if (listed.objects.length === 0) return { deleted, more: false };
    await bucket.delete(listed.objects.map((o) => o.key));
    deleted += listed.objects.length;
    if (!listed.truncated) return { deleted, more: false };
  }
  return { deleted, more: true };
}
