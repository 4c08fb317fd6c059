/**
 * The queue consumer's GitLab step: after a build event, the build's current state goes to its
 * commit on GitLab when its project is linked (server/use-cases/report-gitlab-status.ts). Nothing
 * here fails the message or the build: GitLab's answer, and even a Postgres failure while looking
 * the link up, is only logged (the next event of the build reports its state again).
 */
import type { Bindings } from "../server/config.js";
import { configOf } from "../server/config.js";
import { connect } from "../server/db/client.js";
import { reportGitLabStatus } from "../server/use-cases/report-gitlab-status.js";
import { describeError, type Logger } from "./log.js";

export async function reportToGitLab(env: Bindings, buildId: string, log: Logger): Promise<void> {
  try {
    const config = configOf(env);
    const { db, close } = await connect(config.DATABASE_URL, config.NEON_WS_PROXY);
    try {
      const result = await reportGitLabStatus(config, db, buildId);
      if ("skipped" in result) return;
      if (result.ok) log.info(`GitLab status ${result.state}${result.already ? " (already set)" : ""} for build ${buildId}`, { build_id: buildId });
      else log.warn(`GitLab status for build ${buildId} not set`, { build_id: buildId, ...result });
    } finally {
      await close();
    }
  } catch (err) {
    log.warn(`GitLab status for build ${buildId} not set`, { build_id: buildId, ...describeError(err) });
  }
}
