/** What the runner routes need of builds: the build a job id names, and a coordinator refusal as an error. */
import { SparkiError } from "../../core/errors.js";
import type { LeaseRefusal } from "../../server/objects/build-coordinator/protocol.js";

/** Job ids are `<build id>.<n>`: the build (and so its coordinator) is read off the id. */
export function buildIdOfJob(jobId: string): string {
  const buildId = jobId.split(".")[0] ?? "";
  if (!/^[0-9a-f-]{36}$/.test(buildId) || !/^[0-9a-f-]{36}\.\d{1,4}$/.test(jobId)) {
    throw new SparkiError("not_found", { detail: `No job ${jobId}.` });
  }
  return buildId;
}

/** A coordinator's refusal as the 409 the runner protocol prescribes (or 404). */
export function refusalError(refusal: LeaseRefusal): SparkiError {
  return new SparkiError(refusal.refused === "not_found" ? "not_found" : "lease_lost", { detail: refusal.detail });
}
