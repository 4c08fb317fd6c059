import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { existsSync } from "node:fs";
import { planStack } from "./test/stack-plan.js";
import { WorkersThenLongestFirst } from "./test/sequencer.js";
import { buildWeb } from "./web/build.js";
import { plannerWorker } from "./planner/build.js";

// Planned once here (the config runs before any test), handed to the global setup through
// the environment and to workerd as bindings.
const plan = await planStack(process.env);
// wrangler.toml serves web/dist as the Worker's assets and refuses to start without it; `npm test`
// builds it first (pretest), this covers `npx vitest` on a fresh checkout.
if (!existsSync("web/dist/index.html") || !existsSync("web/dist/common-passwords.txt")) await buildWeb();
process.env.SPARKI_TEST_STACK = JSON.stringify(plan);
// The API binds the planner Worker (wrangler.toml [[services]]); the pool runs it built.
const planner = await plannerWorker();

/**
 * The workers project shares one runtime across files, so a Durable Object alarm set by one file
 * (a pool re-arms every minute while a job waits) may fire as another file's module runner closes;
 * the pool's wrapper then imports the Worker's module through that closing channel, and vitest
 * reports the pending "resolve". It is the harness, not Sparki: only that exact error is dropped.
 */
function reportUnlessAnObjectWokeAfterItsFile(error: { name?: string; message?: string }): boolean {
  return !(error.name === "EnvironmentTeardownError" && error.message?.includes('Closing rpc while "resolve" was pending'));
}

export default defineConfig({
  test: {
    // Two test files at a time, across both projects. Vitest's default is one fewer than the
    // cores, which on a 2-core machine ran every file after the other, though most of a file's
    // time is spent waiting on something else (a stack booting, a runner, workerd, a browser).
    maxWorkers: 2,
    onUnhandledError: reportUnlessAnObjectWokeAfterItsFile,
    // The workers files as one block, then the longest files first (test/sequencer.ts).
    sequence: { sequencer: WorkersThenLongestFirst },
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          // Files of one worker share its module cache instead of importing everything again: a
          // pass spent 165 s importing, 67 s with this. The two files that fake timers restore
          // them in finally, and no file mocks modules or leaves environment variables set.
          isolate: false,
          include: [
            "core/**/*.test.ts",
            "cli/**/*.test.ts",
            "dev/**/*.test.ts",
            "runner/**/*.test.ts",
            "bench/**/*.test.ts",
            "test/**/*.test.ts",
            "web/**/*.test.ts",
            "node/**/*.test.ts",
            "workers/**/*.node.test.ts",
            "server/**/*.node.test.ts",
          ],
          // Tests under test/ that must run inside workerd (attacks, objects) are *.workers.test.ts.
          exclude: ["**/*.workers.test.ts", "**/node_modules/**"],
          // Builds the CLI and runner bundles the tests start (test/global-setup-node.ts).
          globalSetup: ["./test/global-setup-node.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // expect.poll waits on a state (a page showing a row, a heading); vitest's 1 s budget for it
          // ran out in the dashboard tests on a loaded machine while Chromium was still rendering.
          expect: { poll: { timeout: 15_000 } },
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              workers: [planner],
              bindings: {
                DATABASE_URL: plan.databaseUrl,
                NEON_WS_PROXY: `127.0.0.1:${plan.proxyPort}`,
                UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${plan.cachePort}`,
                UPSTASH_REDIS_REST_TOKEN: plan.cacheToken,
                JWT_SECRET: "test-secret-that-is-long-enough-for-hs256",
                BCRYPT_COST: "4",
                ALLOW_LOCAL_GIT_URLS: "true",
                // Development: health checks may ask http://127.0.0.1 (core/net/outbound.ts).
                ALLOW_LOCAL_OUTBOUND: "true",
                // 8 MiB: a test can upload 5 MiB and be refused just over the limit.
                ARTIFACT_MAX_MIB: "8",
                // Caches: a 1 MiB archive fits, 2 MiB is refused; three 1 MiB entries evict the oldest.
                CACHE_ENTRY_MAX_MIB: "1.5",
                CACHE_PROJECT_MAX_MIB: "2.5",
                LOG_LEVEL: "error",
                SHARED_RUNNER_TOKEN: "shared-runner-token-for-tests",
                // Tests that need a lease to run out move the clock past leaseExpiresAt; a short
                // real lease only lost jobs between claim and upload on a loaded machine.
                RUNNER_LEASE_SECONDS: "60",
                METRICS_TOKEN: "metrics-token-for-tests",
                // 1 KiB: small enough for a test to reach.
                LOG_LIMIT_MIB: "0.0009765625",
                SECRETS_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                // Sites on their own hosts (server/sites/hosts.ts); the API is http://sparki.test.
                SITES_ORIGIN: "http://sites.test",
                // Nothing listens there: routes and the queue consumer never reach a real GitLab.
                GITLAB_URL: "http://127.0.0.1:9",
                // The GitHub App on, with nothing listening at its API: tests that reach GitHub use the
                // fake from the node project (test/e2e/github-app.test.ts).
                GITHUB_APP_ID: "1",
                GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\\nnot-a-key\\n-----END RSA PRIVATE KEY-----",
                GITHUB_WEBHOOK_SECRET: "github-webhook-secret-for-tests",
                GITHUB_APP_SLUG: "sparki-test",
                GITHUB_API_URL: "http://127.0.0.1:9/api/v3",
                // Sign in with GitHub on, its web host unreachable too (test/e2e/oauth.test.ts uses the fake).
                GITHUB_WEB_URL: "http://127.0.0.1:9",
                GITHUB_CLIENT_ID: "Iv1.test-client-id",
                GITHUB_CLIENT_SECRET: "test-client-secret",
              },
            },
          }),
        ],
        test: {
          name: "workers",
          // One runtime for many files (vitest-pool-workers starts a Miniflare per isolated file: its
          // imports were more than half of this project's time). Tests share objects' storage
          // across files as they already share Postgres: each makes its own users, workspaces and ids.
          isolate: false,
          include: ["workers/**/*.test.ts", "server/**/*.test.ts", "durable-objects/**/*.test.ts", "test/**/*.workers.test.ts"],
          // Tests of Worker code that need Node (a real HTTP fake) run in the node project.
          exclude: ["**/*.node.test.ts", "**/node_modules/**"],
          globalSetup: ["./test/global-setup.ts"],
          // A guard against hangs, not a measure: two suites at once on 2 cores took a cache test
          // from about 2 s to 30 s.
          testTimeout: 90_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
