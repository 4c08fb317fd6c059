/**
 * Fault: the runner's connections are cut three times while a step streams its log. A TCP proxy
 * written here sits between the runner and the API (the runner is registered with the proxy's
 * URL) and, each time the bytes relayed on runner log sockets pass a mark, destroys every
 * connection it carries, both sides. The step prints 20,000 lines mixing ANSI colours, UTF-8 and
 * lines far over the 16 KiB line limit, and ends without a newline. After the build succeeds,
 * the step's lines in the log must be, byte for byte, what `sh -c` prints for the same command,
 * and the archived logs.txt must be exactly the lines viewers got.
 *
 * There is no per-job or per-step filter on GET /v1/builds/:id/logs.txt (workers/routes/builds.ts
 * forwards no query to the coordinator), so the step's lines are picked from the viewer frames,
 * which carry `jobId` and `step` per line, and logs.txt is compared to all of them.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, logBytes, oneStepYml, until, run } from "./support.js";

const e2e = new E2E();
let proxy: CuttingProxy;

/** Deterministic output: colours, several scripts and emoji, tabs, \r, over-long lines, stderr. */
const genJs = `
const colours = [31, 32, 33, 34, 35, 36, 91, 92, 95];
const words = ["build", "ünïcödé", "日本語のログ", "🚀 launch", "👩‍💻 dev", "tab\\there", "naïve café", "ελληνικά", "العربية", "ok", "\\u001b[1mbold\\u001b[22m", "∑∫√"];
let seed = 42;
const rand = (n) => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed % n; };
function line(i) {
  const c = colours[rand(colours.length)];
  if (i % 1000 === 250) {
    // About 50 KB: cut into pieces at the 16 KiB limit, never inside a character or an escape.
    let s = "long " + i + ": ";
    while (Buffer.byteLength(s) < 50000) s += "\\u001b[" + colours[rand(colours.length)] + "m" + words[rand(words.length)] + "\\u001b[0m ";
    return s;
  }
  if (i === 5000) return "x".repeat(16384);
  if (i === 5001) return "y".repeat(16385);
  if (i === 5002) return "é".repeat(8192) + "z";
  if (i === 5003) return "a" + "🚀".repeat(4096);
  if (i === 5004) return "";
  if (i % 97 === 0) return "progress " + i + "%\\r" + "progress " + (i + 1) + "%\\r";
  return "\\u001b[" + c + "m[" + String(i).padStart(5, "0") + "]\\u001b[0m " + words[rand(words.length)] + " " + words[rand(words.length)] + " " + "·".repeat(rand(60));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Blocking writes straight to fds 1 and 2 (process.stdout would make the pipe non-blocking and
// queue what does not fit, so a later stderr line could overtake queued stdout).
const fs = require("node:fs");
const out = (fd, text) => { const b = Buffer.from(text); for (let o = 0; o < b.length; ) o += fs.writeSync(fd, b, o); };
(async () => {
  for (let i = 0; i < 20000; i++) {
    if (i % 500 === 499) out(2, "\\u001b[33mwarning at line " + i + " (stderr)\\u001b[0m\\n");
    else out(1, line(i) + "\\n");
    if (i % 500 === 0) await sleep(80);
  }
  out(1, "the end, with no newline");
})();
`;

/** A TCP relay that counts what runners send on their log sockets and cuts everything on cue. */
class CuttingProxy {
  readonly server: Server;
  readonly pairs = new Set<{ client: Socket; upstream: Socket; log: boolean }>();
  logBytes = 0;
  connections = 0;
  readonly cuts: { at: number; logBytes: number; open: number; logSockets: number }[] = [];
  port = 0;

  constructor(
    private readonly target: number,
    private readonly marks: number[],
  ) {
    this.server = createServer((client) => this.#relay(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  #relay(client: Socket): void {
    this.connections++;
    const upstream = connect(this.target, "127.0.0.1");
    const pair = { client, upstream, log: false };
    this.pairs.add(pair);
    let first = true;
    client.on("data", (chunk: Buffer) => {
      if (first) {
        first = false;
        pair.log = /^GET \/v1\/runner\/jobs\/[^/ ]+\/logs[ ?]/.test(chunk.toString("latin1", 0, 300));
      }
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once("drain", () => client.resume());
      }
      if (!pair.log) return;
      this.logBytes += chunk.length;
      if (this.cuts.length < this.marks.length && this.logBytes >= (this.marks[this.cuts.length] as number)) this.cut();
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!client.write(chunk)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on("close", drop);
    upstream.on("close", drop);
    client.on("error", drop);
    upstream.on("error", drop);
  }

  /** Destroys every connection, both sides, mid-whatever. */
  cut(): void {
    const pairs = [...this.pairs];
    this.cuts.push({ at: Date.now(), logBytes: this.logBytes, open: pairs.length, logSockets: pairs.filter((p) => p.log).length });
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
      this.pairs.delete(p);
    }
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let expected: Buffer;
let repo: string;

beforeAll(async () => {
  await e2e.start();
  repo = await e2e.gitRepo("cuts", {
    "package.json": JSON.stringify({ name: "cuts", version: "1.0.0" }),
    "sparki.yml": oneStepYml("node gen.js"),
    "gen.js": genJs,
  });
  // What the step prints, as the runner runs it: `sh -c`, stderr into the same pipe.
  const printed = await run("/bin/sh", ["-c", 'exec /bin/sh -c "$1" 2>&1', "sh", "node gen.js"], {
    cwd: repo,
    encoding: "buffer",
    maxBuffer: 256 * 1024 * 1024,
  });
  expected = printed.stdout;
  const apiPort = Number(new URL(e2e.stack.apiUrl).port);
  // Marks on the bytes relayed from runner log sockets. The socket is compressed
  // (permessage-deflate: the step's ~2 MB arrive as ~250 kB), so the marks are absolute: past
  // the plan job's few lines, and well inside the step's stream with or without compression.
  proxy = new CuttingProxy(apiPort, [40_000, 100_000, 160_000]);
  await e2e.runner("cut-runner", { url: await proxy.listen() });
}, 180_000);

afterAll(async () => {
  await e2e.close();
  await proxy?.close();
}, 60_000);

describe("a runner whose connections are cut three times mid-stream", () => {
  it("loses and doubles no byte: the step's lines equal what it printed, logs.txt equals what viewers saw", async () => {
    expect(expected.length).toBeGreaterThan(2_000_000);
    for (const word of ["日本語のログ", "🚀 launch", "\u001b[1mbold", "\r", "\t"]) expect(expected.includes(word), word).toBe(true);
    const project = await e2e.project("cuts", repo);
    const buildId = await e2e.trigger(project.id);
    const viewer = e2e.viewer(buildId);
    await viewer.opened;

    const done = await e2e.waitForEnd(buildId, 120_000);
    expect(done.status, e2e.diagnostics()).toBe("succeeded");
    await until("the viewer to get the final status", () => viewer.statuses.includes("succeeded"), 10_000, {
      diagnostics: () =>
        `viewer: statuses ${JSON.stringify(viewer.statuses)}, ${viewer.lines.length} lines, closed ${JSON.stringify(viewer.closed)}\n${e2e.diagnostics()}`,
    });
    viewer.close();

    // Three cuts, each with a runner log socket open, all while the step was running.
    expect(proxy.cuts).toHaveLength(3);
    const step = done.jobs[1].steps[0];
    expect(step).toMatchObject({ id: "build", status: "succeeded", exitCode: 0 });
    for (const cut of proxy.cuts) {
      expect(cut.logSockets).toBeGreaterThanOrEqual(1);
      expect(cut.at).toBeGreaterThan(Date.parse(step.startedAt));
      expect(cut.at).toBeLessThan(Date.parse(step.finishedAt));
    }
    const runnerOutput = e2e.runners[0]!.output();
    expect(runnerOutput.match(/log stream disconnected/g)?.length ?? 0).toBeGreaterThanOrEqual(3);

    // The viewer saw every line once, in order.
    expect(viewer.lines.map((l) => l.seq)).toEqual(viewer.lines.map((_, i) => i + 1));
    const stepJob = done.jobs[1].id;
    const stepLines = viewer.lines.filter((l) => l.jobId === stepJob && l.step === "build");
    const got = logBytes(stepLines);
    if (!got.equals(expected)) {
      let at = 0;
      while (at < Math.min(got.length, expected.length) && got[at] === expected[at]) at++;
      throw new Error(
        `the step's log differs from its output at byte ${at} of ${expected.length} (got ${got.length} bytes): expected ${JSON.stringify(expected.subarray(at, at + 80).toString("latin1"))}, got ${JSON.stringify(got.subarray(at, at + 80).toString("latin1"))}`,
      );
    }
    // Over-long lines arrive in pieces (partial: true); the last line had no newline at all.
    expect(stepLines.filter((l) => l.partial).length).toBeGreaterThanOrEqual(20 * 3 + 3 + 1);
    expect(stepLines.at(-1)).toMatchObject({ text: "the end, with no newline", partial: true });

    // The archived log is exactly the stored lines, and holds the step's bytes in one piece.
    const archived = await e2e.bytes(`/v1/builds/${buildId}/logs.txt`);
    expect(archived.status).toBe(200);
    expect(archived.body.equals(logBytes(viewer.lines))).toBe(true);
    expect(archived.body.includes(expected)).toBe(true);
    console.log(
      `socket-cuts: ${expected.length} bytes in ${stepLines.length} log lines; ${proxy.logBytes} bytes relayed on log sockets, cut at ${proxy.cuts.map((c) => `${c.logBytes} B (${c.open} connections, ${c.at - Date.parse(step.startedAt)} ms into the step)`).join(", ")}; step took ${Date.parse(step.finishedAt) - Date.parse(step.startedAt)} ms; ${proxy.connections} connections through the proxy`,
    );
  }, 150_000);
});
