/**
 * The node project's global setup: builds the bundled `sparki` and `sparki-runner` (dev/bins.ts)
 * that the tests start, fresh from this checkout's sources on every run.
 */
import { buildBins } from "../dev/bins.ts";

export default async function setup(): Promise<void> {
  await buildBins();
}
