/**
 * bench/deploy: how long a visitor of a `sparki-static` site waits for a green build to be served,
 * and for a broken one to be taken down again. On the real local stack with a real runner process,
 * a repository whose sparki.yml builds a one-page site (its version in an <h1>, and health.txt) and
 * deploys it to one `production` stage, all-at-once, health-checked
 * `{ path: /health.txt, intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 1 }`.
 * Each iteration:
 *   (a) a commit with a new version; from the build's `succeeded` status frame on its log socket
 *       (the coordinator sends it as it decides the build is green, before `build.completed` is
 *       queued) to the first `GET /` of the project's production site (a new visitor: no cookie, one
 *       request at a time, 10 ms apart) that shows the new version. Split with the deployment's
 *       own event times: queue → release created → orchestrator started → deployed → alias
 *       switched ("traffic") → healthy → succeeded.
 *   baseline: in the same workerd (bench/deploy/worker.ts), the least a deployment must do, in
 *       one request: the sparki-static adapter's publish (unpack the artifact into R2) and alias
 *       switch, timed from sending it to the first GET that shows that version; then a bare alias
 *       switch back (the least a rollback must do), timed the same way.
 *   (b) a commit whose site lacks health.txt; all-at-once makes it live before the check, which
 *       fails, and the orchestrator rolls back. From the failing health event to the first GET that
 *       shows the old version again after the last one that showed the broken one. Also: whether
 *       and how long the poller saw the broken version, and what a returning visitor (a browser
 *       with the stage's pin cookie) is served afterwards.
 * Then the same two commits on a project whose health check keeps its defaults
 * (`healthCheck: { path: /health.txt }`: every 10 s, 3 to pass, 3 to fail), fewer times.
 * Also when Postgres first shows each build succeeded (the queue consumer reads it there before
 * it makes a release; a build it still sees running is retried 2 s later).
 * BENCH_DEPLOY_ITERATIONS (10) and BENCH_DEPLOY_DEFAULT_ITERATIONS (2; 0 skips) scale it (1 and 0 at
 * smoke size);
 * BENCH_DEPLOY_DEBUG=1 prints each deployment's events among the poller's requests.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import WebSocket from "ws";
import { fetchSite } from "../../dev/sites-proxy.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { ms, startPlatform, stats, type Platform } from "../runner/platform.js";
import { size, sizeLabel } from "../size.js";

const iterations = size("BENCH_DEPLOY_ITERATIONS", 10, 1);
const defaultIterations = size("BENCH_DEPLOY_DEFAULT_ITERATIONS", 2, 0);
const pollGapMs = 10;
/** BENCH_DEPLOY_DEBUG=1: each deployment's events and the poller's requests around them. */
const debug = process.env.BENCH_DEPLOY_DEBUG === "1";
function dump(label: string, origin: number, d: DeploymentView, samples: Sample[]): void {
  if (!debug) return;
  const rel = (t: number) => `${String(t - origin).padStart(6)} ms`;
  const rows = [
    ...d.events.map((e) => ({ t: Date.parse(e.at), text: `event ${e.type}: ${e.message.slice(0, 90)}` })),
    ...samples.map((s) => ({ t: s.arrived, text: `GET sent ${rel(s.sent)}, took ${s.arrived - s.sent} ms: ${s.version}` })),
  ].sort((a, b) => a.t - b.t);
  const first = d.events[0] ? Date.parse(d.events[0].at) : origin;
  console.log(`  -- ${label}`);
  for (const r of rows) if (r.t >= first - 50) console.log(`     ${rel(r.t)}  ${r.text}`);
}
const here = fileURLToPath(new URL(".", import.meta.url));
const run = promisify(execFile);
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@sparki.test",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@sparki.test",
};
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

const fastCheck = "healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 1 }";
const defaultCheck = "healthCheck: { path: /health.txt }";

/** The repository's files: the site's version in an <h1>, and health.txt unless `broken`. */
function site(version: string, check: string, broken = false): Record<string, string> {
  const build = `mkdir -p dist && printf '<h1>${version}</h1>' > dist/index.html${broken ? "" : " && echo ok > dist/health.txt"}`;
  return {
    "package.json": JSON.stringify({ name: "site", version: "1.0.0", private: true }),
    "sparki.yml": [
      "language: javascript",
      "commands:",
      "  install: null",
      "  lint: null",
      "  test: null",
      `  build: ${JSON.stringify(build)}`,
      "outputDir: dist",
      "deployments:",
      "  - stage: production",
      "    platform: sparki-static",
      "    strategy: all-at-once",
      `    ${check}`,
      "",
    ].join("\n"),
  };
}

async function commit(repo: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(repo, path), content);
  await run("git", ["add", "-A"], { cwd: repo, env: gitEnv });
  await run("git", ["commit", "--quiet", "-m", "bench"], { cwd: repo, env: gitEnv });
}

/** The release id a push deployment of a build gets (server/use-cases/start-deployment.ts, uuidFrom). */
async function pushReleaseId(buildId: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`push:${buildId}`))).slice(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- a visitor ----------------------------------------------------------------------------------

interface Sample {
  sent: number;
  arrived: number;
  version: string;
  /** x-sparki-deployment: which deployment answered. */
  deployment: string | null;
}

const versionOf = (body: string, status: number) => body.match(/<h1>(\w+)<\/h1>/)?.[1] ?? `status ${status}`;

/** One page load; `cookie` makes it a returning visitor. */
async function load(url: string, cookie?: string): Promise<Sample & { setCookie: string | null }> {
  const sent = Date.now();
  // Sites are on their own hosts (http://<site>.localhost:<port>/), which Node cannot resolve.
  const res = await fetchSite(url, cookie ? { headers: { cookie } } : {});
  const body = await res.text();
  return {
    sent,
    arrived: Date.now(),
    version: versionOf(body, res.status),
    deployment: res.headers.get("x-sparki-deployment"),
    setCookie: res.headers.get("set-cookie"),
  };
}

/** New visitors, one request at a time, `pollGapMs` apart, until `stop()` says so. */
function watch(url: string, stop: (samples: Sample[]) => boolean): Promise<Sample[]> {
  return (async () => {
    const samples: Sample[] = [];
    while (!stop(samples)) {
      try {
        const { setCookie: _, ...sample } = await load(url);
        samples.push(sample);
      } catch {
        // A dropped connection counts as nothing seen.
      }
      await sleep(pollGapMs);
    }
    return samples;
  })();
}

// --- builds and deployments ---------------------------------------------------------------------

/**
 * When Postgres (what the queue consumer reads before it makes a release) first shows the build
 * succeeded: the project's build list, every 20 ms from `from`, for at most 5 s.
 */
async function postgresSucceeded(platform: Platform, projectId: string, buildId: string): Promise<number> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const page = await platform.api<{ items: { id: string; status: string }[] }>("GET", `/v1/projects/${projectId}/builds?limit=5&status=succeeded`);
    if (page.items.some((b) => b.id === buildId)) return Date.now();
    await sleep(20);
  }
  return NaN;
}

/** Triggers a build; resolves when its log socket says it succeeded, with that moment. */
async function greenBuild(platform: Platform, projectId: string): Promise<{ buildId: string; succeededAt: number; inPostgres: Promise<number> }> {
  const build = await platform.api<{ id: string }>("POST", `/v1/projects/${projectId}/builds`, { branch: "main" });
  const succeededAt = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${platform.apiUrl.replace(/^http/, "ws")}/v1/builds/${build.id}/logs`, {
      headers: { authorization: `Bearer ${platform.token}` },
    });
    const timer = setTimeout(() => (ws.terminate(), reject(new Error(`build ${build.id} did not finish within 120 s:\n${platform.runner.tail()}`))), 120_000);
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { type: string; status?: string };
      if (frame.type !== "status" || !frame.status || ["queued", "running"].includes(frame.status)) return;
      const at = Date.now();
      clearTimeout(timer);
      ws.close();
      if (frame.status === "succeeded") resolve(at);
      else reject(new Error(`build ${build.id} ended ${frame.status}:\n${platform.runner.tail()}`));
    });
    ws.on("error", (err) => (clearTimeout(timer), reject(err)));
  });
  return { buildId: build.id, succeededAt, inPostgres: postgresSucceeded(platform, projectId, build.id) };
}

interface DeploymentView {
  id: string;
  status: string;
  reason: string | null;
  createdAt: string;
  completedAt: string | null;
  stages: { platform: string; status: string }[];
  events: { seq: number; at: string; type: string; stage: string | null; message: string }[];
}
const FINISHED = ["succeeded", "failed", "cancelled", "rolled_back"];

/** Polls GET /v1/deployments/:id (404 until the queue consumer has made it) until it ends. */
async function deploymentEnd(platform: Platform, projectId: string, id: string, timeoutMs: number): Promise<DeploymentView> {
  const deadline = Date.now() + timeoutMs;
  let last: DeploymentView | undefined;
  for (;;) {
    const res = await fetch(`${platform.apiUrl}/v1/deployments/${id}`, { headers: { authorization: `Bearer ${platform.token}` } });
    if (res.ok) last = (await res.json()) as DeploymentView;
    else await res.body?.cancel();
    if (last && FINISHED.includes(last.status)) break;
    if (Date.now() > deadline)
      throw new Error(
        `deployment ${id} is ${last?.status ?? "not there"} after ${timeoutMs} ms: ${JSON.stringify(last?.events.map((e) => `${e.type}: ${e.message}`))}`,
      );
    await sleep(100);
  }
  // Postgres (the next release's `previous`) hears of it at the end of the same alarm.
  for (let i = 0; i < 100; i++) {
    const page = await platform.api<{ items: { id: string; status: string }[] }>("GET", `/v1/projects/${projectId}/deployments`);
    if (page.items.find((d) => d.id === id)?.status === last.status) break;
    await sleep(100);
  }
  return last;
}

/** When the queue consumer got the build's `build.completed` (bench/deploy/worker.ts notes each delivery). */
async function deliveriesOf(platform: Platform, buildId: string): Promise<number[]> {
  const res = await fetch(`${platform.apiUrl}/v1/__bench/deliveries?build=${buildId}`);
  return ((await res.json()) as { at: number }[]).map((d) => d.at);
}

const at = (d: DeploymentView, test: (e: DeploymentView["events"][number]) => boolean) => {
  const e = d.events.find(test);
  return e ? Date.parse(e.at) : NaN;
};

async function delivery(platform: Platform, buildId: string, origin: number): Promise<{ delivered: number; deliveries: number }> {
  const times = await deliveriesOf(platform, buildId);
  return { delivered: (times[0] ?? NaN) - origin, deliveries: times.length };
}

// --- one project --------------------------------------------------------------------------------

interface GreenRow {
  /** Postgres shows the build succeeded (the build list, polled every 20 ms). */
  postgres: number;
  /** build.completed reaches the consumer: first delivery, and how many until the release. */
  delivered: number;
  deliveries: number;
  queue: number;
  start: number;
  deployed: number;
  switched: number;
  served: number;
  /** The first passing health check, and how many passed before the stage was healthy. */
  healthy: number;
  passes: number;
  done: number;
  /** Requests after the first new answer that still got the old version. */
  flaps: number;
  returning: string;
}
interface BrokenRow {
  postgres: number;
  delivered: number;
  deliveries: number;
  recovered: number;
  failToRolledBack: number;
  serverWindow: number;
  seenBroken: number;
  visitorWindow: number;
  queue: number;
  failCheckAfterSwitch: number;
  returning: string;
}

class Site {
  repo = "";
  projectId = "";
  url = "";
  live: { version: string; buildId: string; releaseId: string } | null = null;
  counter = 0;
  constructor(
    readonly platform: Platform,
    readonly name: string,
    readonly check: string,
    readonly timeoutMs: number,
  ) {}

  async setUp(): Promise<void> {
    this.repo = await this.platform.gitRepo(this.name, site(`${this.name}0`, this.check));
    this.projectId = (await this.platform.createProject(this.name, this.repo)).id;
    this.url = siteUrl(this.platform.stack.sitesOrigin, { projectId: this.projectId, stage: "production" }) ?? "";
  }

  /** A build of the next version, deployed; what a new visitor saw and when. */
  async green(): Promise<{ row: GreenRow; buildId: string; d: DeploymentView }> {
    const version = `${this.name}${this.counter++}`;
    if (this.counter > 1) await commit(this.repo, site(version, this.check));
    // A visitor who loaded the page before: the stage's pin cookie from that load.
    const before = this.live ? await load(this.url) : null;
    const { buildId, succeededAt, inPostgres } = await greenBuild(this.platform, this.projectId);
    const releaseId = await pushReleaseId(buildId);
    const deadline = succeededAt + this.timeoutMs;
    let finished = false;
    const seen = watch(this.url, () => finished || Date.now() > deadline);
    const d = await deploymentEnd(this.platform, this.projectId, releaseId, this.timeoutMs).finally(() => (finished = true));
    const samples = await seen;
    if (d.status !== "succeeded") throw new Error(`deployment of ${version} ended ${d.status}: ${d.reason}`);
    dump(`green ${version}, from the build's succeeded frame`, succeededAt, d, samples);
    const first = samples.findIndex((s) => s.version === version);
    const returning = before?.setCookie ? (await load(this.url, before.setCookie.split(";")[0])).version : "n/a";
    this.live = { version, buildId, releaseId };
    const t = (type: string, test: (e: DeploymentView["events"][number]) => boolean = () => true) => at(d, (e) => e.type === type && test(e)) - succeededAt;
    return {
      buildId,
      d,
      row: {
        postgres: (await inPostgres) - succeededAt,
        ...(await delivery(this.platform, buildId, succeededAt)),
        queue: Date.parse(d.createdAt) - succeededAt,
        start: t("created"),
        deployed: t("deployed"),
        switched: t("traffic"),
        served: first >= 0 ? (samples[first] as Sample).arrived - succeededAt : NaN,
        healthy: t("health", (e) => e.message.startsWith("healthy")),
        passes: d.events.filter((e) => e.type === "health" && e.message.startsWith("healthy")).length,
        done: t("succeeded"),
        flaps: first >= 0 ? samples.slice(first).filter((s) => s.version !== version).length : NaN,
        returning: returning === version ? "new" : returning === "n/a" ? "n/a" : `old (${returning})`,
      },
    };
  }

  /** A build without health.txt: deployed, failed, rolled back; what a visitor saw and when. */
  async broken(): Promise<BrokenRow> {
    const live = this.live;
    if (!live) throw new Error("nothing live to roll back to");
    const version = `${this.name}x${this.counter++}`;
    await commit(this.repo, site(version, this.check, true));
    const { buildId, succeededAt, inPostgres } = await greenBuild(this.platform, this.projectId);
    const releaseId = await pushReleaseId(buildId);
    const deadline = succeededAt + this.timeoutMs;
    let finishedAt = Infinity;
    // Until 300 ms after the deployment ended, to see the version it leaves served.
    const seen = watch(this.url, () => Date.now() > Math.min(deadline, finishedAt + 300));
    const d = await deploymentEnd(this.platform, this.projectId, releaseId, this.timeoutMs).finally(() => (finishedAt = Date.now()));
    const samples = await seen;
    if (d.status !== "rolled_back") throw new Error(`the broken deployment ${version} ended ${d.status}: ${d.reason}`);
    const failed = at(d, (e) => e.type === "health" && e.message.startsWith("unhealthy"));
    dump(`broken ${version}, from its failing health check`, failed, d, samples);
    const lastBroken = samples.findLastIndex((s) => s.version === version);
    const firstBroken = samples.findIndex((s) => s.version === version);
    const recovered = samples.find((s, i) => i > lastBroken && s.arrived >= failed && s.version === live.version);
    // A visitor whose page load landed on the broken version keeps its pin cookie.
    const returning = (await load(this.url, `sparki_site_production=${releaseId}`)).version;
    return {
      postgres: (await inPostgres) - succeededAt,
      ...(await delivery(this.platform, buildId, succeededAt)),
      recovered: recovered ? recovered.arrived - failed : NaN,
      failToRolledBack: at(d, (e) => e.type === "stage_rolled_back") - failed,
      serverWindow: at(d, (e) => e.type === "stage_rolled_back") - at(d, (e) => e.type === "traffic"),
      seenBroken: firstBroken >= 0 ? samples.filter((s) => s.version === version).length : 0,
      visitorWindow: firstBroken >= 0 && recovered ? recovered.arrived - (samples[firstBroken] as Sample).arrived : 0,
      queue: Date.parse(d.createdAt) - succeededAt,
      failCheckAfterSwitch: failed - at(d, (e) => e.type === "traffic"),
      returning: returning === live.version ? "old (good)" : returning === version ? "broken" : returning,
    };
  }
}

// --- baseline -----------------------------------------------------------------------------------

/** The least a deployment does (bench/deploy/worker.ts), then the first GET that shows `version`. */
async function baseline(
  platform: Platform,
  s: Site,
  body: Record<string, string>,
  version: string,
): Promise<{ request: number; served: number; deploymentId: string }> {
  const sent = Date.now();
  let answered = 0;
  let deploymentId = "";
  const req = fetch(`${platform.apiUrl}/v1/__bench/deploy`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ projectId: s.projectId, stage: "production", ...body }),
  }).then(async (res) => {
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /v1/__bench/deploy answered ${res.status}: ${text.slice(0, 300)}`);
    answered = Date.now();
    deploymentId = (JSON.parse(text) as { deploymentId: string }).deploymentId;
  });
  let failed: unknown;
  req.catch((err: unknown) => (failed = err));
  const samples = await watch(s.url, (x) => failed !== undefined || Date.now() > sent + 30_000 || x.at(-1)?.version === version);
  await req;
  const last = samples.at(-1);
  return { request: answered - sent, served: last?.version === version ? last.arrived - sent : NaN, deploymentId };
}

async function artifactOf(platform: Platform, buildId: string): Promise<string> {
  const { items } = await platform.api<{ items: { name: string }[] }>("GET", `/v1/builds/${buildId}/artifacts`);
  if (!items[0]) throw new Error(`build ${buildId} has no artifact`);
  return items[0].name;
}

// --- main ---------------------------------------------------------------------------------------

function line(label: string, samples: number[]) {
  const s = stats(samples.filter((v) => Number.isFinite(v)));
  const missing = samples.length - s.n;
  console.log(
    `  ${label.padEnd(58)} p50 ${ms(s.p50).padStart(8)}  p95 ${ms(s.p95).padStart(8)}  max ${ms(s.max).padStart(8)}  min ${ms(s.min).padStart(8)}${missing ? `  (${missing} of ${samples.length} never)` : ""}`,
  );
  return s;
}
const tally = (values: string[]) =>
  Object.entries(values.reduce<Record<string, number>>((acc, v) => ((acc[v] = (acc[v] ?? 0) + 1), acc), {}))
    .map(([k, n]) => `${k} ×${n}`)
    .join(", ");

async function main(): Promise<string> {
  const platform = await startPlatform({ name: "deploy", entry: join(here, "worker.ts") });
  try {
    const fast = new Site(platform, "v", fastCheck, 60_000);
    await fast.setUp();
    console.log(`${sizeLabel}; runner pid ${platform.runner.pid}; ${iterations} iterations on ${fastCheck}, then ${defaultIterations} on ${defaultCheck}`);
    // Warm-up: the first version live (and a broken one rolled back), not counted.
    const warm = await fast.green();
    await fast.broken();
    let previousGood = warm.buildId;
    const green: GreenRow[] = [];
    const broken: BrokenRow[] = [];
    const publish: { request: number; served: number }[] = [];
    const switchBack: { request: number; served: number }[] = [];
    const rtt: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const g = await fast.green();
      green.push(g.row);
      const live = fast.live;
      if (!live) throw new Error("nothing live");
      // Baseline: publish the previous good build's site as a fresh deployment and switch to it,
      // then switch back to the live deployment (a rollback's least work). Before (b), so (b)
      // rolls back to the deployment its release names, which is served again by then.
      const previousVersion = (
        await load(siteUrl(platform.stack.sitesOrigin, { projectId: fast.projectId, deploymentId: await pushReleaseId(previousGood) }) ?? "")
      ).version;
      publish.push(await baseline(platform, fast, { buildId: previousGood, artifact: await artifactOf(platform, previousGood) }, previousVersion));
      switchBack.push(
        await baseline(platform, fast, { buildId: live.buildId, artifact: await artifactOf(platform, live.buildId), switchTo: live.releaseId }, live.version),
      );
      for (let k = 0; k < 5; k++) {
        const s = await load(fast.url);
        rtt.push(s.arrived - s.sent);
      }
      broken.push(await fast.broken());
      previousGood = g.buildId;
      const last = broken.at(-1) as BrokenRow;
      console.log(
        `  ${i + 1}/${iterations}: green → served ${ms(g.row.served)} (switched at ${ms(g.row.switched)}), baseline ${ms(publish.at(-1)?.served ?? NaN)}; failed check → old served ${ms(last.recovered)} (baseline switch ${ms(switchBack.at(-1)?.served ?? NaN)}), broken seen ${last.seenBroken}×`,
      );
    }

    const defaults = { green: [] as GreenRow[], broken: [] as BrokenRow[] };
    if (defaultIterations > 0) {
      const slow = new Site(platform, "d", defaultCheck, 120_000);
      await slow.setUp();
      await slow.green();
      for (let i = 0; i < defaultIterations; i++) {
        defaults.green.push((await slow.green()).row);
        defaults.broken.push(await slow.broken());
        console.log(
          `  defaults ${i + 1}/${defaultIterations}: green → served ${ms(defaults.green.at(-1)?.served ?? NaN)}, healthy ${ms(defaults.green.at(-1)?.healthy ?? NaN)}; failed check → old served ${ms(defaults.broken.at(-1)?.recovered ?? NaN)}, broken live ${ms(defaults.broken.at(-1)?.serverWindow ?? NaN)}`,
        );
      }
    }

    console.log(`\n(a) green build → production serves it, ${green.length} iterations (${fastCheck}); times from the build's 'succeeded' status frame`);
    const col = <K extends keyof GreenRow>(rows: GreenRow[], k: K) => rows.map((r) => r[k] as number);
    line("build.completed first delivered to the consumer", col(green, "delivered"));
    line("Postgres shows the build succeeded (coordinator outbox)", col(green, "postgres"));
    line("queue: release created (build.completed consumed)", col(green, "queue"));
    console.log(`  deliveries of build.completed per build: ${tally(green.map((r) => String(r.deliveries)))}`);
    line("orchestrator started ('created' event)", col(green, "start"));
    line("site published to R2 ('deployed' event)", col(green, "deployed"));
    line("alias switched ('traffic' event)", col(green, "switched"));
    const served = line("first new-visitor GET showing the new version", col(green, "served"));
    line("first health check passed", col(green, "healthy"));
    line("deployment succeeded (stage healthy)", col(green, "done"));
    console.log(
      `  old version served after the first new one: ${col(green, "flaps").reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)} requests; returning visitor (pin cookie from before): ${tally(green.map((r) => r.returning))}`,
    );
    console.log("baseline, same workerd: one request doing the adapter's publish + alias switch (bench/deploy/worker.ts)");
    line(
      "  request answered",
      publish.map((p) => p.request),
    );
    const basePublish = line(
      "  sent → first GET showing that version",
      publish.map((p) => p.served),
    );
    line("  new-visitor GET round trip (poll resolution, + 10 ms gap)", rtt);

    console.log(`\n(b) failed health check → old version served again, ${broken.length} iterations`);
    const bcol = <K extends keyof BrokenRow>(rows: BrokenRow[], k: K) => rows.map((r) => r[k] as number);
    line("build.completed first delivered to the consumer", bcol(broken, "delivered"));
    line("Postgres shows the build succeeded (coordinator outbox)", bcol(broken, "postgres"));
    line("queue: release created after 'succeeded'", bcol(broken, "queue"));
    console.log(`  deliveries of build.completed per build: ${tally(broken.map((r) => String(r.deliveries)))}`);
    line("alias switched → failing check recorded", bcol(broken, "failCheckAfterSwitch"));
    line("failing check → stage rolled back (alias switched back)", bcol(broken, "failToRolledBack"));
    const recovered = line("failing check → first GET showing the old version again", bcol(broken, "recovered"));
    line("broken version live (switch → switch back, events)", bcol(broken, "serverWindow"));
    const seen = broken.filter((r) => r.seenBroken > 0).length;
    console.log(
      `  the poller saw the broken version in ${seen} of ${broken.length} iterations (${broken.reduce((a, r) => a + r.seenBroken, 0)} requests in all)${
        seen
          ? `; for ${broken
              .filter((r) => r.seenBroken > 0)
              .map((r) => ms(r.visitorWindow))
              .join(", ")}`
          : ""
      }`,
    );
    console.log(
      `  returning visitor pinned to the broken deployment (cookie from a load in that window), after the rollback: ${tally(broken.map((r) => r.returning))}`,
    );
    console.log("baseline, same workerd: one request doing a bare alias switch back to the live deployment");
    line(
      "  request answered",
      switchBack.map((p) => p.request),
    );
    const baseSwitch = line(
      "  sent → first GET showing that version",
      switchBack.map((p) => p.served),
    );

    if (defaults.green.length > 0) {
      console.log(`\nhealth check defaults (${defaultCheck}: every 10 s, 3 passes, 3 failures), ${defaults.green.length} iterations`);
      line("(a) green → first GET showing the new version", col(defaults.green, "served"));
      line("(a) green → deployment succeeded (stage healthy)", col(defaults.green, "done"));
      console.log(`  passing checks before healthy: ${tally(defaults.green.map((r) => String(r.passes)))}`);
      line("(b) broken version live (switch → switch back)", bcol(defaults.broken, "serverWindow"));
      line("(b) first failing check → first GET showing the old version", bcol(defaults.broken, "recovered"));
      console.log(
        `  new-visitor requests answered with the broken version: ${defaults.broken.map((r) => r.seenBroken).join(", ")} (over ${defaults.broken.map((r) => ms(r.visitorWindow)).join(", ")})`,
      );
    }

    const missing = [...green.map((r) => r.served), ...broken.map((r) => r.recovered)].filter((v) => !Number.isFinite(v)).length;
    if (missing > 0) process.exitCode = 1;
    const defaultNote =
      defaults.broken.length > 0 ? `; defaults (10 s × 3): broken version live p50 ${ms(stats(bcol(defaults.broken, "serverWindow")).p50)}` : "";
    return `SUMMARY deploy: green build → production serves it p50 ${ms(served.p50)}, p95 ${ms(served.p95)}, max ${ms(served.max)} (baseline publish + switch ${ms(basePublish.p50)} / ${ms(basePublish.p95)}); failed check → old version served p50 ${ms(recovered.p50)}, p95 ${ms(recovered.p95)}, max ${ms(recovered.max)} (baseline switch ${ms(baseSwitch.p50)} / ${ms(baseSwitch.p95)}); broken version seen by the poller in ${seen}/${broken.length}${defaultNote}; ${green.length} iterations${missing ? `; ${missing} NEVER SERVED` : ""}; ${sizeLabel}`;
  } finally {
    await platform.close();
  }
}

console.log(await main());
