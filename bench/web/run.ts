/**
 * bench/web: the dashboard in Debian's Chromium (playwright-core) on the real local stack.
 *  1. bundle size: gzip of what a first visit loads (index.html, app.js, app.css);
 *  2. time to first log line: from navigation start to the first log row drawn, opening the page
 *     of a running build whose log is short (median of several opens), and again once the step
 *     has printed for a while (the socket replays the whole log from seq 1 before it goes live);
 *  3. frames dropped while the step prints 5,000 lines/s: requestAnimationFrame gaps counted in
 *     the page, and the browser's long-animation-frame entries, over a few seconds of streaming.
 *  4. a million lines: the page's socket answered by Playwright with 1,000,000 lines; the time to
 *     hold them, to draw the middle after a jump, to find a line near the end.
 * Baseline in the same run: a bare HTML page on the same origin (fulfilled by Playwright, so
 * nothing extra ships in web/dist) whose script opens the same log socket and appends each line
 * to a <pre> (no framework, no virtualisation).
 * Goals: bundle < 100 KiB gzip; first line < 300 ms.
 * BENCH_WEB_SECONDS (default 40) is how long the step streams; BENCH_WEB_RATE its lines per second;
 * BENCH_WEB_LINES the lines of (4) (a million); BENCH_WEB_TRACE=1 prints each open's timeline
 * (navigation, assets, API calls, socket, first line). At smoke size: one open of each, a 5 s pause,
 * 500 ms of frames at 1,000 lines/s and 20,000 lines (the stream runs on while the page is measured).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { bundleSize } from "../../web/build.ts";
import { launch } from "../../test/web/browser.ts";
import { startPlatform, stats, type Platform } from "../runner/platform.js";
import { size, sizeLabel, smoke } from "../size.js";

const rate = size("BENCH_WEB_RATE", 5000, 1000);
const seconds = size("BENCH_WEB_SECONDS", 40, 30);
const manyLines = size("BENCH_WEB_LINES", 1_000_000, 20_000);
const opens = smoke ? 1 : 5;
const longOpens = smoke ? 1 : 3;
const warmupMs = smoke ? 5000 : 12_000;
const windowMs = smoke ? 500 : 5000;
const sizeGoalKiB = 100;
const firstLineGoalMs = 300;

// 20 lines, a pause, then 50 lines every 10 ms (5,000/s), paced against the clock.
const streamJs = `const rate = ${rate}, seconds = ${seconds};
console.log("stream start");
for (let i = 1; i <= 20; i++) console.log("warm-up line " + i);
// A pause, so the page can be opened on a running build with a short log first.
await new Promise((r) => setTimeout(r, ${warmupMs}));
console.log("streaming");
const start = Date.now();
let n = 0;
while (Date.now() - start < seconds * 1000) {
  const due = Math.floor(((Date.now() - start) / 1000) * rate);
  let chunk = "";
  for (; n < due; n++) chunk += "line " + (n + 1) + " \\u001b[32mok\\u001b[0m the quick brown fox jumps over the lazy dog\\n";
  if (chunk) process.stdout.write(chunk);
  await new Promise((r) => setTimeout(r, 10));
}
console.log("stream end");
`;

const baselineHtml = (buildId: string) => `<!doctype html><meta charset="utf-8"><title>baseline</title><pre id="log"></pre><script>
const pre = document.getElementById("log"); let first = true;
const ws = new WebSocket(location.origin.replace("http", "ws") + "/v1/builds/${buildId}/logs?from=1");
ws.onmessage = (e) => { const f = JSON.parse(e.data); if (f.type !== "lines") return;
  pre.append(f.lines.map((l) => l.text.replace(/\\x1b\\[[0-9;]*m/g, "") + "\\n").join(""));
  if (first) { first = false; requestAnimationFrame(() => performance.mark("sparki:first-log-line")); }
  window.scrollTo(0, document.body.scrollHeight); };
</script>`;

/** Opens `url` in a fresh page; ms from navigation start to the page's first-line mark. */
async function firstLine(context: BrowserContext, url: string): Promise<number> {
  const page = await context.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(`performance.getEntriesByName("sparki:first-log-line").length > 0`, undefined, { timeout: 30_000 });
    if (process.env.BENCH_WEB_TRACE) {
      // Where the time went: navigation, each resource (the socket is not one), the mark.
      console.log(
        await page.evaluate(
          `JSON.stringify([performance.getEntriesByType("navigation")[0], ...performance.getEntriesByType("resource")].map((e) => [e.name.replace(location.origin, ""), Math.round(e.startTime), Math.round(e.responseStart), Math.round(e.responseEnd)]).concat([["dcl", Math.round(performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd)], ["mark", Math.round(performance.getEntriesByName("sparki:first-log-line")[0].startTime)], ["socket-open", Math.round(performance.getEntriesByName("sparki:socket")[0]?.startTime ?? -1)]]))`,
        ),
      );
    }
    return (await page.evaluate(`performance.getEntriesByName("sparki:first-log-line")[0].startTime`)) as number;
  } finally {
    await page.close();
  }
}

/** Frames the page missed over `ms` while lines stream in, by its own clock. */
async function frames(page: Page, ms: number): Promise<{ frames: number; dropped: number; longFrames: number; blockingMs: number; lines: number }> {
  return (await page.evaluate(`new Promise((resolve) => {
    let long = 0, blocking = 0, frames = 0, dropped = 0, last = performance.now();
    const count = () => Number((document.getElementById("log-count")?.textContent || document.getElementById("log")?.textContent.split("\\n").length || "0").toString().replace(/[^0-9]/g, ""));
    const linesAtStart = count();
    const po = new PerformanceObserver((list) => { for (const e of list.getEntries()) { long++; blocking += e.blockingDuration || 0; } });
    try { po.observe({ type: "long-animation-frame", buffered: false }); } catch {}
    const end = last + ${ms};
    const tick = (now) => {
      frames++;
      const gap = now - last;
      if (gap > 1000 / 60 * 1.5) dropped += Math.round(gap / (1000 / 60)) - 1;
      last = now;
      if (now < end) requestAnimationFrame(tick);
      else { po.disconnect(); resolve({ frames, dropped, longFrames: long, blockingMs: Math.round(blocking), lines: count() - linesAtStart }); }
    };
    requestAnimationFrame((now) => { last = now; requestAnimationFrame(tick); });
  })`)) as { frames: number; dropped: number; longFrames: number; blockingMs: number; lines: number };
}

/**
 * A million lines (`manyLines`) in the real dashboard: the page's log socket is answered by
 * Playwright (routeWebSocket) with them in 100 frames; then how long the page takes to hold them
 * all, to draw the middle of the log after a jump there, and to find a line near the end.
 */
async function million(context: BrowserContext, buildId: string): Promise<{ ingestMs: number; scrollMs: number; searchMs: number; heapMb: number }> {
  const perFrame = Math.ceil(manyLines / 100);
  const total = perFrame * 100;
  const needle = total - 10;
  const middle = total / 2;
  const page = await context.newPage();
  try {
    await page.routeWebSocket(/\/v1\/builds\/[^/]+\/logs/, (ws) => {
      let seq = 0;
      for (let f = 0; f < 100; f++) {
        const lines = [];
        for (let i = 0; i < perFrame; i++) {
          seq++;
          lines.push({
            seq,
            jobId: `${buildId}.1`,
            step: "build",
            ts: seq,
            text: seq === needle ? "the needle line" : `line ${seq} \u001b[32mok\u001b[0m the quick brown fox jumps over the lazy dog`,
          });
        }
        ws.send(JSON.stringify({ type: "lines", lines }));
      }
      ws.send(JSON.stringify({ type: "status", status: "succeeded" }));
    });
    const t0 = Date.now();
    await page.goto(`/builds/${buildId}`);
    await page.waitForFunction(`document.getElementById("log-count")?.textContent === "${total.toLocaleString("en")} lines"`, undefined, {
      timeout: 120_000,
      polling: 50,
    });
    const ingestMs = Date.now() - t0;
    const scrollMs = (await page.evaluate(`new Promise((resolve) => {
      const box = document.querySelector(".log-box");
      const t = performance.now();
      box.scrollTop = ${middle} * 18;
      const check = () => [...document.querySelectorAll(".log-rows .ln")].some((a) => a.textContent === "${middle + 1}") ? resolve(performance.now() - t) : requestAnimationFrame(check);
      requestAnimationFrame(check);
    })`)) as number;
    await page.getByLabel("Search the log").fill("needle line");
    const t1 = Date.now();
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForFunction(`document.querySelector(".row.marked .ln")?.textContent === "${needle}"`, undefined, { timeout: 30_000, polling: "raf" });
    const searchMs = Date.now() - t1;
    const heap = (await page.evaluate(`performance.memory ? performance.memory.usedJSHeapSize : 0`)) as number;
    return { ingestMs, scrollMs, searchMs, heapMb: heap / 1024 / 1024 };
  } finally {
    await page.close();
  }
}

async function main(): Promise<string> {
  const size = bundleSize();
  console.log(
    `${sizeLabel}; bundle (gzip): app.js ${(size.js / 1024).toFixed(1)} KiB, app.css ${(size.css / 1024).toFixed(1)} KiB, index.html ${(size.html / 1024).toFixed(1)} KiB = ${(size.total / 1024).toFixed(1)} KiB`,
  );

  let platform: Platform | undefined;
  let browser: Browser | undefined;
  try {
    platform = await startPlatform({ name: "web" });
    // The baseline page is fulfilled by Playwright, so Chromium cannot tell it comes from 127.0.0.1
    // and would block its socket to a local address (Local Network Access).
    browser = await launch(["--disable-features=LocalNetworkAccessChecks"]);
    // The API takes the session cookie only from its own origin, which a browser sends itself;
    // this request context is not a page, so it says so.
    const context = await browser.newContext({
      baseURL: platform.apiUrl,
      viewport: { width: 1280, height: 900 },
      extraHTTPHeaders: { origin: platform.apiUrl },
      // The dashboard's CSP has no 'unsafe-eval', and Playwright's waitForFunction polls with eval
      // once its condition is not already true: the smoke failed whenever the first line was late.
      bypassCSP: true,
    });
    const req = context.request;
    const json = async (p: Promise<{ ok(): boolean; status(): number; json(): Promise<unknown>; text(): Promise<string> }>) => {
      const res = await p;
      if (!res.ok()) throw new Error(`API answered ${res.status()}: ${await res.text()}`);
      return res.json() as Promise<any>;
    };
    // The browser's own session (cookies), as the dashboard has it.
    const email = `bench-web-${Date.now()}@sparki.test`;
    await json(req.post("/v1/auth/signup", { data: { email, password: "benchmark password", name: "Bench" } }));
    await json(req.post("/v1/auth/login", { data: { email, password: "benchmark password", session: "cookie" } }));
    const ws = await json(req.post("/v1/workspaces", { data: { name: "Bench web" } }));
    const repo = await platform.gitRepo("stream", {
      "package.json": JSON.stringify({ name: "stream", version: "1.0.0", type: "module" }),
      "sparki.yml": `language: javascript\ncommands:\n  install: null\n  lint: null\n  test: null\n  build: "node stream.mjs"\noutputDir: null\n`,
      "stream.mjs": streamJs,
    });
    const project = await json(req.post(`/v1/workspaces/${ws.id}/projects`, { data: { name: "stream", gitUrl: repo } }));
    const build = await json(req.post(`/v1/projects/${project.id}/builds`, { data: {} }));
    const started = Date.now();
    for (;;) {
      const text = await (await req.get(`/v1/builds/${build.id}/logs.txt`)).text();
      if (text.includes("warm-up line 20")) break;
      if (Date.now() - started > 120_000) throw new Error(`the step did not start streaming; runner said:\n${platform.runner.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The pause started about when the warm-up lines could be read.
    const streamStarted = Date.now();
    console.log(`build ${build.id} is running: a ${warmupMs / 1000} s pause, then ${rate} lines/s for ${seconds} s`);
    await context.route("**/__bench/baseline.html", (route) => route.fulfill({ contentType: "text/html", body: baselineHtml(build.id) }));

    // 1. Opening the page of a running build whose log is short (the step's pause).
    const appFirst: number[] = [];
    const baseFirst: number[] = [];
    for (let i = 0; i < opens; i++) {
      appFirst.push(await firstLine(context, `/builds/${build.id}`));
      baseFirst.push(await firstLine(context, `/__bench/baseline.html`));
    }
    if (Date.now() - streamStarted > warmupMs) console.log("  (warning: the short-log opens ran past the step's pause)");
    await new Promise((r) => setTimeout(r, Math.max(0, streamStarted + warmupMs + 1000 - Date.now())));

    // 2. Frames while 5,000 lines/s arrive; each page watched alone.
    const appPage = await context.newPage();
    await appPage.goto(`/builds/${build.id}`);
    await appPage.waitForSelector(".log-rows .row");
    await new Promise((r) => setTimeout(r, 1000));
    const app = await frames(appPage, windowMs);
    await appPage.close();
    const basePage = await context.newPage();
    basePage.on("pageerror", (err) => console.log(`  baseline page error: ${err.message}`));
    basePage.on("console", (msg) => msg.type() === "error" && console.log(`  baseline page: ${msg.text()}`));
    await basePage.goto(`/__bench/baseline.html`);
    await basePage.waitForFunction(`performance.getEntriesByName("sparki:first-log-line").length > 0`);
    await new Promise((r) => setTimeout(r, 1000));
    const base = await frames(basePage, windowMs);
    await basePage.close();

    // 3. Opening it again once the log is long: the socket replays it all from seq 1 first.
    const backlog = Math.round(((Date.now() - streamStarted - warmupMs) / 1000) * rate);
    const appLong: number[] = [];
    const baseLong: number[] = [];
    for (let i = 0; i < longOpens; i++) {
      appLong.push(await firstLine(context, `/builds/${build.id}`));
      baseLong.push(await firstLine(context, `/__bench/baseline.html`));
    }
    const streamingFor = (Date.now() - streamStarted - warmupMs) / 1000;
    if (streamingFor > seconds)
      console.log(`  (warning: measurements took ${streamingFor.toFixed(0)} s, longer than the ${seconds} s stream: raise BENCH_WEB_SECONDS)`);
    const m = await million(context, build.id);
    const a = stats(appFirst);
    const b = stats(baseFirst);
    const al = stats(appLong);
    const bl = stats(baseLong);
    console.log(`time to first log line (navigation start → first row drawn), a running build`);
    console.log(
      `  short log (20 lines, ${opens} opens):  dashboard p50 ${a.p50.toFixed(0)} ms (min ${a.min.toFixed(0)}, max ${a.max.toFixed(0)});  bare page p50 ${b.p50.toFixed(0)} ms (min ${b.min.toFixed(0)}, max ${b.max.toFixed(0)})`,
    );
    console.log(
      `  long log (~${backlog.toLocaleString("en")} lines, ${longOpens} opens): dashboard p50 ${al.p50.toFixed(0)} ms (min ${al.min.toFixed(0)}, max ${al.max.toFixed(0)});  bare page p50 ${bl.p50.toFixed(0)} ms (min ${bl.min.toFixed(0)}, max ${bl.max.toFixed(0)})`,
    );
    console.log(`frames over ${windowMs / 1000} s of streaming (60 Hz expected; dropped = frames missed by requestAnimationFrame)`);
    for (const [name, f] of [
      ["dashboard", app],
      ["baseline ", base],
    ] as const) {
      console.log(
        `  ${name}  ${f.frames} frames, ${f.dropped} dropped (${((f.dropped / (f.frames + f.dropped)) * 100).toFixed(1)}%), ${f.longFrames} long animation frames, ${f.blockingMs} ms blocking; ${(f.lines / (windowMs / 1000)).toFixed(0)} lines/s shown`,
      );
    }
    console.log(
      `${manyLines.toLocaleString("en")} lines (Playwright answering the log socket): all held and counted in ${m.ingestMs} ms after navigation; the middle drawn ${m.scrollMs.toFixed(0)} ms after a jump there; a line near the end found in ${m.searchMs} ms; JS heap ${m.heapMb.toFixed(0)} MB`,
    );
    const sizeMet = size.total / 1024 < sizeGoalKiB ? "met" : "NOT met";
    const firstMet = a.p50 < firstLineGoalMs ? "met" : "NOT met";
    return `SUMMARY web: bundle ${(size.total / 1024).toFixed(1)} KiB gzip (goal < ${sizeGoalKiB}: ${sizeMet}); first log line p50 ${a.p50.toFixed(0)} ms vs bare page ${b.p50.toFixed(0)} ms (goal < ${firstLineGoalMs} ms: ${firstMet}; ${al.p50.toFixed(0)} ms vs ${bl.p50.toFixed(0)} ms with ~${Math.round(backlog / 1000)}k lines to replay); ${app.dropped}/${app.frames + app.dropped} frames dropped at ${rate} lines/s (bare page ${base.dropped}/${base.frames + base.dropped}); ${manyLines.toLocaleString("en")} lines: jump ${m.scrollMs.toFixed(0)} ms, search ${m.searchMs} ms; ${sizeLabel}`;
  } finally {
    await browser?.close();
    await platform?.close();
  }
}

console.log(await main());
process.exit(0);
