/**
 * A step on a network of its own, under the real bwrap and slirp4netns: it reaches out, its own
 * loopback is its own, the host's is not reachable (test/security/runner-sandbox.test.ts attacks
 * that through a whole runner), for a runner with root and one without, and a network that cannot
 * come up means the step does not run.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutputSink } from "./output-sink.ts";
import { findExecutable, sandboxBaseEnv, type SandboxedStep, type StepNetwork } from "./sandbox.ts";
import { decideStepNetwork, probeStepNetwork, stepResolvConf } from "./step-network.ts";
import { runStep } from "./steps.ts";
import { reachCommand } from "../test/reach.ts";

describe("decideStepNetwork", () => {
  const network: StepNetwork = { slirp4netns: "/usr/bin/slirp4netns", resolvConf: "/w/resolv.conf", unshare: "/usr/bin/unshare", asUser: null };
  const works = { ok: true, network } as const;
  const missing = { ok: false, reason: "slirp4netns was not found on PATH" } as const;

  it("isolates a sandboxed runner's steps where slirp4netns works, unless told host", () => {
    expect(decideStepNetwork({ mode: "auto", sandboxed: true, probe: works })).toMatchObject({ network });
    expect(decideStepNetwork({ mode: "isolated", sandboxed: true, probe: works })).toMatchObject({ network });
    const host = decideStepNetwork({ mode: "host", sandboxed: true, probe: works });
    expect(host).not.toHaveProperty("network");
    expect(host).toMatchObject({ note: expect.stringContaining("--step-network host") });
  });

  it("says so when it cannot, and refuses to start only when isolation was asked for", () => {
    const auto = decideStepNetwork({ mode: "auto", sandboxed: true, probe: missing });
    expect(auto).not.toHaveProperty("network");
    expect(auto).toEqual({ note: "steps' network: the host's, this host's loopback services included (slirp4netns was not found on PATH)" });
    expect(decideStepNetwork({ mode: "isolated", sandboxed: true, probe: missing })).toEqual({
      refuse: "--step-network isolated: slirp4netns was not found on PATH",
    });
    expect(decideStepNetwork({ mode: "isolated", sandboxed: false, probe: null })).toMatchObject({ refuse: expect.stringContaining("--no-sandbox") });
    expect(decideStepNetwork({ mode: "auto", sandboxed: false, probe: null })).not.toHaveProperty("network");
  });
});

describe("stepResolvConf", () => {
  it("names slirp4netns's resolver and keeps the host's search domains and options, not its nameservers", () => {
    const host = "# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch corp.example\noptions edns0 trust-ad\n";
    expect(stepResolvConf(host)).toBe("nameserver 10.0.2.3\nsearch corp.example\noptions edns0 trust-ad\n");
    expect(stepResolvConf("")).toBe("nameserver 10.0.2.3\n");
  });
});

/** The host's first non-loopback IPv4 address: "the outside" as a step on its own network sees it. */
function externalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal);
  if (!found) throw new Error("this host has no non-loopback IPv4 address to play the outside world");
  return found.address;
}

/** A TCP server that counts the connections it accepts. */
async function counter(host: string): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.end("hello\n");
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port, accepted: () => accepted };
}

/** A step command that serves on its own 127.0.0.1 and connects to itself: `own loopback: own`. */
const OWN_LOOPBACK = `node -e 'const s = require("net").createServer((c) => c.end("own\\n")).listen(0, "127.0.0.1", () => require("net").connect(s.address().port, "127.0.0.1").on("data", (d) => { console.log("own loopback: " + d.toString().trim()); process.exit(0); }))'`;
const NOBODY = 65534;

describe("a step on a network of its own", () => {
  let root: string;
  const bwrap = findExecutable("bwrap") ?? "bwrap";
  let step: SandboxedStep;
  let network: StepNetwork;
  let hostOnly: Awaited<ReturnType<typeof counter>>;
  let outside: Awaited<ReturnType<typeof counter>>;

  beforeAll(async () => {
    // Under /var/tmp: the step's private /tmp would cover a job folder under /tmp.
    root = realpathSync(mkdtempSync(join(realpathSync(tmpdir()) === "/tmp" ? "/var/tmp" : tmpdir(), "sparki-step-network-")));
    const probe = await probeStepNetwork(bwrap, root);
    if (!probe.ok) throw new Error(`this host cannot give a step its own network: ${probe.reason}`);
    network = probe.network;
    const jobDir = join(root, "job");
    mkdirSync(join(jobDir, "src"), { recursive: true });
    mkdirSync(join(jobDir, "home"));
    step = { sandbox: { bwrap, hidden: [], network }, jobDir };
    hostOnly = await counter("127.0.0.1");
    outside = await counter(externalAddress());
  });

  afterAll(async () => {
    await new Promise((resolve) => hostOnly?.server.close(resolve));
    await new Promise((resolve) => outside?.server.close(resolve));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function run(command: string, sandbox: SandboxedStep = step) {
    const chunks: Buffer[] = [];
    const output: OutputSink = {
      write: (chunk) => (chunks.push(Buffer.from(chunk)), true),
      onDrain: (fn) => fn(),
      note: (text) => chunks.push(Buffer.from(`[note] ${text}\n`)),
      end: () => undefined,
    };
    const outcome = runStep({
      command,
      cwd: join(sandbox.jobDir, "src"),
      env: sandboxBaseEnv(sandbox.jobDir),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      output,
      sandbox,
      killGraceMs: 1000,
    });
    return { outcome, text: () => Buffer.concat(chunks).toString() };
  }

  /** slirp4netns processes this test process started and that still run. */
  const ourSlirps = () =>
    readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
          return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(network.slirp4netns);
        } catch {
          return false;
        }
      });

  it("reaches the outside, not the host's loopback; its own loopback is its own", async () => {
    const ext = externalAddress();
    const { outcome, text } = run(
      `${reachCommand([`127.0.0.1:${hostOnly.port}`, `10.0.2.2:${hostOnly.port}`, `localhost:${hostOnly.port}`, `${ext}:${outside.port}`])}
${OWN_LOOPBACK}
cat /etc/resolv.conf`,
    );
    expect(await outcome, text()).toMatchObject({ kind: "exited", exitCode: 0 });
    const out = text();
    expect(out).toMatch(new RegExp(`^REFUSED 127\\.0\\.0\\.1:${hostOnly.port}$`, "m"));
    expect(out).toMatch(new RegExp(`^REFUSED 10\\.0\\.2\\.2:${hostOnly.port}$`, "m"));
    expect(out).toMatch(new RegExp(`^REFUSED localhost:${hostOnly.port}$`, "m"));
    expect(out).toContain(`REACHED ${ext}:${outside.port}\n`);
    expect(out).toContain("own loopback: own\n");
    expect(out).toContain("nameserver 10.0.2.3\n");
    expect(hostOnly.accepted()).toBe(0);
    expect(outside.accepted()).toBe(1);
    expect(ourSlirps()).toEqual([]);
  }, 60_000);

  it("works for a runner without root: the step keeps the runner's user, reaches out, not the host's loopback", async () => {
    // Run as root (as here), the runner without root is `nobody` in a user namespace of its own:
    // no capability on the host, so every namespace it gets it must make itself, as a laptop
    // user's runner does; its files stay the test's (a checkout under a private folder is still
    // readable to it). Run as anyone else, the test is that runner itself.
    const asRoot = process.getuid?.() === 0;
    const userRoot = realpathSync(mkdtempSync(join(dirname(root), "sparki-step-network-user-")));
    try {
      const ext = externalAddress();
      const command = `id -u\n${reachCommand([`127.0.0.1:${hostOnly.port}`, `10.0.2.2:${hostOnly.port}`, `${ext}:${outside.port}`])}\n${OWN_LOOPBACK}`;
      const script = fileURLToPath(new URL("../test/step-without-root.ts", import.meta.url));
      const argv = [process.execPath, "--import", "tsx", script, userRoot, command];
      const launcher = asRoot ? ["unshare", "--user", `--map-user=${NOBODY}`, `--map-group=${NOBODY}`, "--", ...argv] : argv;
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(launcher[0] as string, launcher.slice(1), {
          cwd: fileURLToPath(new URL("..", import.meta.url)),
          env: { PATH: process.env.PATH, HOME: userRoot },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let text = "";
        child.stdout?.on("data", (chunk: Buffer) => (text += chunk.toString()));
        child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString()));
        child.once("error", reject);
        child.once("close", () => resolve(text));
      });
      expect(out).toMatch(/^PROBE \{"ok":true,.*"asUser":\{"nsenter":"[^"]+","uid":\d+/m);
      expect(out).toMatch(/^OUTCOME \{"kind":"exited","exitCode":0/m);
      expect(out).toMatch(new RegExp(`^${asRoot ? NOBODY : process.getuid?.()}$`, "m"));
      expect(out).toMatch(new RegExp(`^REFUSED 127\\.0\\.0\\.1:${hostOnly.port}$`, "m"));
      expect(out).toMatch(new RegExp(`^REFUSED 10\\.0\\.2\\.2:${hostOnly.port}$`, "m"));
      expect(out).toMatch(new RegExp(`^REACHED ${ext.replaceAll(".", "\\.")}:${outside.port}$`, "m"));
      expect(out).toContain("own loopback: own\n");
      expect(hostOnly.accepted()).toBe(0);
    } finally {
      rmSync(userRoot, { recursive: true, force: true });
    }
  }, 60_000);

  it("does not run when its network cannot come up, and says why", async () => {
    const marker = join(step.jobDir, "src", "ran");
    const broken: SandboxedStep = { ...step, sandbox: { ...step.sandbox, network: { ...network, slirp4netns: "/bin/false" } } };
    const { outcome, text } = run(`touch ${marker}; echo ran`, broken);
    expect(await outcome).toMatchObject({ kind: "exited", exitCode: 127 });
    expect(text()).toMatch(/^\[note\] sparki: cannot start the step: its network could not be set up: slirp4netns ended \(exit 1\)/m);
    expect(text()).not.toContain("ran\n");
    expect(() => readFileSync(marker)).toThrow();
  }, 30_000);
});
