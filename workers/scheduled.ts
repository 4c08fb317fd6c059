/**
 * The Worker's cron (wrangler.toml [triggers]): the retention sweep (server/retention/sweep.ts).
 * Each run does a bounded share of the work and logs what it deleted; a run that stops early,
 * or fails, leaves the rest to the next one, which the sweep makes safe.
 */
import { configOf, type Bindings } from "../server/config.js";
import { connect } from "../server/db/client.js";
import { sweepRetention, type SweepReport } from "../server/retention/sweep.js";
import { describeError, Logger } from "./log.js";

/** Runs the sweep as of the trigger's scheduled time; rethrows so the run shows as failed. */
export async function runScheduled(controller: Pick<ScheduledController, "scheduledTime" | "cron">, env: Bindings): Promise<SweepReport> {
  const config = configOf(env);
  const log = new Logger({ service: "sparki-api", component: "retention", correlationId: `cron_${crypto.randomUUID()}` }, config.LOG_LEVEL);
  let close = async () => {};
  try {
    const connection = await connect(config.DATABASE_URL, config.NEON_WS_PROXY);
    close = connection.close;
    const report = await sweepRetention({ db: connection.db, bucket: env.ARTIFACTS, env }, { now: new Date(controller.scheduledTime) });
    log.info(`retention sweep${report.more ? " stopped at its budget, more to come" : " done"}`, { cron: controller.cron, ...report });
    return report;
  } catch (err) {
    log.error("retention sweep failed", describeError(err));
    throw err;
  } finally {
    await close();
  }
}
