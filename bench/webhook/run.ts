/**
 * bench/webhook: how long a build waits when a git host starts it, beside the API trigger. On the
 * real local stack with a real runner process (idle, long-polling) and the GitHub fake
 * (test/fakes/github.ts: a real HTTP server for installation tokens, check runs and git over
 * HTTP), one private repository imported through the GitHub App, whose sparki.yml has one job of
 * one step. Each round starts one build four ways, one after another, in a rotating order:
 *   - github: a signed `push` event (`X-Hub-Signature-256`) to POST /v1/integrations/github/webhook,
 *     which answers 202 and starts the build from the queue;
 *   - api: POST /v1/projects/:id/builds {branch} with the user's token (the baseline);
 *   - pinned: the same call naming the commit too, as every push does (a control: what a build of
 *     a known commit costs, whatever started it);
 *   - hook: the generic push hook, POST /v1/projects/:id/hooks/push signed with the project's key
 *     (`X-Sparki-Signature-256`), which starts the build in the request.
 * Measured from the moment the bench sends the request to the step starting (the step is
 * `date +%s%3N > FILE`: it records its own start; same clock, same machine), with the runner's
 * plan claim in between. Every build's check run (the queue reports each one to the fake) is
 * completed before the next trigger, so one build's reporting does not land on the next one.
 * Goal: the push event's p50 and p95 within 1.1× of the API trigger's.
 * BENCH_WEBHOOK_PUSHES changes the number of rounds (50; 2 after 1 warm-up at smoke size).
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { FakeGitHub } from "../../test/fakes/github.ts";
import { githubAppVars, linkInstallation } from "../../test/fakes/github-app-link.ts";
import { deliver, pushPayload, signature, ZERO_SHA } from "../../test/fakes/github-webhooks.ts";
import { ms, type Platform, startPlatform, stats } from "../runner/platform.js";
import { size, sizeLabel, smoke } from "../size.js";

const exec = promisify(execFile);
const pushes = size("BENCH_WEBHOOK_PUSHES", 50, 2);
const warmup = smoke ? 1 : 3;
const goal = 1.1;
// Sequential builds measure pickup, not queueing: the runner is idle and polling when each starts.
const settleMs = 300;
const series = ["github", "api", "pinned", "hook"] as const;
type Series = (typeof series)[number];
const labels: Record<Series, string> = {
  github: "signed GitHub push event (webhook → queue)",
  api: "POST /v1/projects/:id/builds (API trigger)",
  pinned: "the API trigger naming the commit (control)",
  hook: "signed generic push hook (hooks/push)",
};

interface Row {
  answered: number;
  /** The build row's created_at (the inserting transaction's start, Postgres' now(); PGlite runs in this process). */
  row: number;
  planClaim: number;
  /** From the build's log: the plan job's checkout line to its "detected" line. */
  planCheckout: number;
  stepsClaim: number;
  /** From the build's log: the step job's checkout line to the step's own start. */
  stepsCheckout: number;
  toStep: number;
}

const phases: Record<keyof Row, string> = {
  answered: "request answered",
  row: "trigger → build row inserted",
  planClaim: "trigger → plan job claimed",
  planCheckout: "  plan checkout + detect",
  stepsClaim: "trigger → step job claimed",
  stepsCheckout: "  step checkout → step started",
  toStep: "trigger → first step started",
};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Polls `check` every 20 ms until it is true; false after `timeoutMs`. */
async function poll(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function main(): Promise<string> {
  const gh = new FakeGitHub();
  await gh.start();
  const app = gh.addApp({ slug: "sparki-bench" });
  const secret = `whsec-${crypto.randomUUID()}`;
  let platform: Platform | undefined;
  try {
    platform = await startPlatform({
      name: "webhook",
      vars: githubAppVars(gh, app, secret),
    });
    const { runner, apiUrl } = platform;
    const marks = join(platform.work, "starts");
    mkdirSync(marks, { recursive: true });
    // The repository GitHub serves (private: each job's clone carries an installation token minted at its claim).
    const work = await platform.gitRepo("shop", {
      "package.json": JSON.stringify({ name: "shop", version: "1.0.0" }),
      "sparki.yml": [
        "language: javascript",
        "commands:",
        "  install: null",
        "  lint: null",
        "  test: null",
        `  build: 'date +%s%3N > ${marks}/$SPARKI_BUILD_ID'`,
        "outputDir: null",
        "",
      ].join("\n"),
    });
    const sha = (await exec("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
    const gitDir = join(platform.work, "shop.git");
    await exec("git", ["clone", "--quiet", "--bare", work, gitDir]);
    gh.addRepo("acme/shop", { private: true, gitDir, defaultBranch: "main", refs: { main: sha } });
    // The admin's way: the app installed on acme, linked through the install link's signed state.
    const installationId = gh.install(app, "acme").id;
    await linkInstallation(platform, gh, secret, installationId);
    const project = await platform.api<{ id: string }>("POST", `/v1/workspaces/${platform.workspaceId}/projects/github`, { repository: "acme/shop" });
    const hook = await platform.api<{ url: string; secret: string }>("POST", `/v1/projects/${project.id}/hooks`);

    const triggers: Record<Series, () => Promise<string | undefined>> = {
      github: async () => {
        const push = deliver(secret, "push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main", after: sha, installationId }), { installationId });
        const res = await fetch(`${apiUrl}/v1/integrations/github/webhook`, { method: "POST", headers: push.headers, body: push.body });
        if (res.status !== 202) throw new Error(`the push event answered ${res.status}: ${await res.text()}`);
        await res.body?.cancel();
        return undefined;
      },
      api: async () => (await platform!.api<{ id: string }>("POST", `/v1/projects/${project.id}/builds`, { branch: "main" })).id,
      pinned: async () => (await platform!.api<{ id: string }>("POST", `/v1/projects/${project.id}/builds`, { branch: "main", commitSha: sha })).id,
      hook: async () => {
        const body = JSON.stringify({ ref: "refs/heads/main", before: ZERO_SHA, after: sha });
        const res = await fetch(hook.url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sparki-signature-256": signature(hook.secret, body), "x-sparki-delivery": crypto.randomUUID() },
          body,
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`the push hook answered ${res.status}: ${text}`);
        return (JSON.parse(text) as { buildId: string | null }).buildId ?? undefined;
      },
    };

    const rows = Object.fromEntries(series.map((k) => [k, [] as Row[]])) as Record<Series, Row[]>;
    let unreported = 0;
    const measure = async (kind: Series): Promise<Row> => {
      const from = runner.events.length;
      const sent = Date.now();
      const expected = await triggers[kind]();
      const answered = Date.now();
      const plan = await runner.waitFor(/^claimed job (\S+) \(build (\S+), plan\)/, 60_000, from);
      const [, planId, buildId] = plan.match as unknown as [string, string, string];
      if (expected !== undefined && expected !== buildId) throw new Error(`the runner claimed build ${buildId}, not the ${kind} trigger's ${expected}`);
      const planDone = await runner.waitFor(new RegExp(`^job ${escapeRegExp(planId)}: finished (\\w+)`), 60_000, from);
      const steps = await runner.waitFor(new RegExp(`^claimed job (\\S+) \\(build ${escapeRegExp(buildId)}, \\d+ step`), 60_000, from);
      const stepsId = steps.match[1] as string;
      const stepsDone = await runner.waitFor(new RegExp(`^job ${escapeRegExp(stepsId)}: finished (\\w+)`), 60_000, from);
      if (planDone.match[1] !== "succeeded" || stepsDone.match[1] !== "succeeded") throw new Error(`build ${buildId} did not succeed:\n${runner.tail()}`);
      const started = Number(readFileSync(join(marks, buildId), "utf8"));
      const end = await platform!.waitForEnd(buildId, 60_000);
      if (end.status !== "succeeded") throw new Error(`build ${buildId} ended ${end.status}`);
      if (end.commitSha !== sha || end.branch !== "main") throw new Error(`build ${buildId} built ${end.branch}@${end.commitSha}, not main@${sha}`);
      const log = await platform!.readLog(buildId);
      const at = (jobId: string, test: (l: (typeof log)[number]) => boolean) => log.find((l) => l.jobId === jobId && test(l))?.ts ?? NaN;
      // The queue reports the build's end to GitHub; let that finish before the next trigger.
      const reported = await poll(() => [...gh.repoApi.checkRuns.values()].some((c) => c.external_id === buildId && c.status === "completed"), 10_000);
      if (!reported) unreported++;
      return {
        answered: answered - sent,
        row: Date.parse(end.createdAt) - sent,
        planClaim: plan.event.at - sent,
        planCheckout: at(planId, (l) => l.step === "sparki:plan" && l.text.startsWith("detected")) - at(planId, (l) => l.step === "sparki:checkout"),
        stepsClaim: steps.event.at - sent,
        stepsCheckout: started - at(stepsId, (l) => l.step === "sparki:checkout"),
        toStep: started - sent,
      };
    };

    console.log(`${sizeLabel}: ${pushes} rounds of ${series.length} builds (${series.join(", ")}) after ${warmup} warm-up rounds; runner pid ${runner.pid}`);
    for (let i = 0; i < warmup + pushes; i++) {
      // Rotating order: no trigger always comes first after the pause.
      const order = series.map((_, k) => series[(i + k) % series.length] as Series);
      const round: Partial<Record<Series, Row>> = {};
      for (const kind of order) {
        round[kind] = await measure(kind);
        await new Promise((r) => setTimeout(r, settleMs));
      }
      if (i >= warmup) for (const kind of series) rows[kind].push(round[kind] as Row);
      if (i === warmup - 1 || (i >= warmup && (i - warmup + 1) % 10 === 0))
        console.log(
          `  ${i < warmup ? "warm-up done" : `${i - warmup + 1} rounds`}: last trigger → step ${series.map((k) => `${k} ${ms(round[k]?.toStep ?? NaN)}`).join(", ")}`,
        );
    }

    const line = (label: string, samples: number[]) => {
      const s = stats(samples);
      console.log(
        `    ${label.padEnd(30)} p50 ${ms(s.p50).padStart(7)}  p95 ${ms(s.p95).padStart(7)}  min ${ms(s.min).padStart(7)}  max ${ms(s.max).padStart(7)}`,
      );
      return s;
    };
    console.log(`\n${pushes} rounds; the runner's clock, the step's and ours are one`);
    const toStep = {} as Record<Series, ReturnType<typeof stats>>;
    for (const kind of series) {
      console.log(`  ${labels[kind]}`);
      for (const [key, label] of Object.entries(phases)) {
        const figures = line(
          label,
          rows[kind].map((r) => r[key as keyof Row]),
        );
        if (key === "toStep") toStep[kind] = figures;
      }
    }
    const ratio = (kind: Series, base: Series = "api") => ({ p50: toStep[kind].p50 / toStep[base].p50, p95: toStep[kind].p95 / toStep[base].p95 });
    const fmtRatio = (r: { p50: number; p95: number }) => `p50 ${r.p50.toFixed(2)}×, p95 ${r.p95.toFixed(2)}×`;
    const push = ratio("github");
    console.log(`  push event / API trigger: ${fmtRatio(push)}`);
    console.log(`  push event / API trigger naming the commit: ${fmtRatio(ratio("github", "pinned"))}`);
    console.log(`  API trigger naming the commit / API trigger: ${fmtRatio(ratio("pinned"))}`);
    console.log(`  push hook / API trigger: ${fmtRatio(ratio("hook"))}`);
    if (unreported > 0) console.log(`  ${unreported} builds had no completed check run on the fake within 10 s of ending`);
    const invalid = rows.github.length === 0 || series.some((k) => rows[k].some((r) => !Object.values(r).every(Number.isFinite)));
    if (invalid) process.exitCode = 1;
    const verdict = invalid ? "INVALID RUN: a build was not measured" : push.p50 <= goal && push.p95 <= goal ? "met" : "NOT met";
    return `SUMMARY webhook: signed push event → first step p50 ${ms(toStep.github.p50)}, p95 ${ms(toStep.github.p95)}; API trigger p50 ${ms(toStep.api.p50)}, p95 ${ms(toStep.api.p95)}; ratio ${fmtRatio(push)} (goal ≤ ${goal.toFixed(2)}×: ${verdict}); API trigger naming the commit p50 ${ms(toStep.pinned.p50)}, p95 ${ms(toStep.pinned.p95)}; push hook p50 ${ms(toStep.hook.p50)}, p95 ${ms(toStep.hook.p95)}; ${pushes} rounds; ${sizeLabel}`;
  } finally {
    await platform?.close();
    await gh.close();
  }
}

console.log(await main());
