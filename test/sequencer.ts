/**
 * Starts the longest test files first, across both projects. Vitest's own order runs every `node`
 * file before any `workers` file and, on a fresh clone (no timing cache), larger files first; the
 * route sweeps (small files, the longest runs) then started last and ran alone at the end of the
 * suite. With the long files first, the short ones fill the gaps on the two workers.
 *
 * The costs are seconds measured by a full run on this 2-core machine (.ci/out/*.json); a file not
 * listed keeps vitest's order after them. Once vitest has its own timings (a second run in the same
 * checkout), those win.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

const measuredSeconds: Record<string, number> = {
  "cli/api.test.ts": 65,
  "cli/cli.test.ts": 44,
  "test/e2e/create-vite.test.ts": 36,
  "cli/journey.test.ts": 34,
  "cli/deploy.test.ts": 32,
  "test/security/artifacts.test.ts": 30,
  "test/e2e/deploy.test.ts": 26,
  "test/web/dashboard.test.ts": 24,
  "runner/cli.test.ts": 20,
  "test/security/runner-protocol.test.ts": 20,
  "workers/routes/deployments.test.ts": 17,
  "test/e2e/postgres-down.test.ts": 15,
  "test/security/accounts.test.ts": 15,
  "workers/routes/sites.test.ts": 14,
  "test/web/cookies.test.ts": 13,
  "test/e2e/runner-killed.test.ts": 11,
  // Estimated from single runs (a stack, a runner and a build each), until a full run measures them.
  "test/e2e/github-app.test.ts": 30,
  "test/e2e/github-results.test.ts": 30,
  "test/e2e/gitlab.test.ts": 30,
  "test/e2e/supersede.test.ts": 30,
  "test/e2e/push-hook.test.ts": 30,
  // Measured alone: 12 s (a stack and the GitHub and GitLab fakes, no runner).
  "test/e2e/oauth.test.ts": 12,
  // Measured: 27–48 s (a stack, the GitHub fake and Chromium; the slower on a busy machine).
  "test/web/oauth.test.ts": 40,
  // Measured alone: 14–25 s (a stack, a runner, two builds and their previews).
  "test/e2e/previews.test.ts": 25,
  "test/security/route-sweep-bodies.workers.test.ts": 30,
  // Measured alone: PGlite in process and real HTTP fakes; the slow answer waits out a 1 s timeout.
  "test/security/notifications.test.ts": 10,
  // Measured alone: 29 s (a stack, a runner, two builds, the Slack fake and a receiver).
  "test/e2e/notifications.test.ts": 30,
  // Measured alone: 31 s (a stack, Chromium, the Slack fake and a receiver).
  "test/web/notifications.test.ts": 30,
  // Measured alone: 17 s (a stack, the GitHub fake and Chromium; no runner).
  "test/web/github-import.test.ts": 20,
  "server/notifications/deliver.node.test.ts": 7,
};

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const vitestOrder = await super.sort(files);
    const position = new Map(vitestOrder.map((spec, i) => [spec, i]));
    const cost = (spec: TestSpecification) => {
      const key = `${spec.project.name}:${spec.moduleId.slice(spec.project.config.root.length + 1)}`;
      const cached = this.ctx.cache.getFileTestResults(key);
      return cached ? cached.duration / 1000 : (measuredSeconds[spec.moduleId.slice(spec.project.config.root.length + 1)] ?? 0);
    };
    return [...vitestOrder].sort((a, b) => cost(b) - cost(a) || (position.get(a) ?? 0) - (position.get(b) ?? 0));
  }
}
