/**
 * The node project's global setup: builds the bundled `sparki` and `sparki-runner` (dev/bins.ts)
 * that the tests start, fresh from this checkout's sources on every run. Its teardown drops the
 * databases the workers' shared stacks made on the machine's PostgreSQL (test/e2e/stacks.ts).
 */
import { buildBins } from "../dev/bins.ts";
import { dropSharedDatabases } from "./e2e/shared-databases.ts";

export default async function setup(): Promise<() => Promise<void>> {
  await buildBins();
  return async () => {
    if (process.env.DATABASE_URL) await dropSharedDatabases(process.env.DATABASE_URL, process.pid);
  };
}
