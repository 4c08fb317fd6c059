/**
 * Opening a build's page, the log comes first: the API calls the page also makes (the build's
 * jobs, its artifacts, the account for the header) wait until the first log lines are drawn, or
 * 600 ms at most, so the log socket's upgrade is not queued behind them in the Worker
 * (bench/web measured about 270 ms of difference on the local stack).
 */
let release: () => void = () => undefined;
let gate: Promise<void> = Promise.resolve();

/** Called once, before the app first renders, when the page opened is a build's. */
export function holdForLog(): void {
  gate = new Promise((resolve) => {
    release = resolve;
    setTimeout(resolve, 600);
  });
}

/** The first log lines (or the news that there are none yet) are on screen. */
export function logShown(): void {
  release();
}

/** Resolves once the log has been shown, or at once when nothing waits for it. */
export function afterLog(): Promise<void> {
  return gate;
}
