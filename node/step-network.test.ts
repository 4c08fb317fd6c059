/**
 * A step on a network of its own, under the real bwrap and slirp4netns: it reaches out, its own
 * loopback is its own, the host's is not reachable (test/security/runner-sandbox.test.ts attacks
 * that through a whole runner), and a network that cannot come up means the step does not run.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutputSink } from "./output-sink.ts";
import { sandboxBaseEnv, type SandboxedStep, type StepNetwork } from "./sandbox.ts";
import { connectStepNetwork, decideStepNetwork, probeStepNetwork, stepResolvConf } from "./step-network.ts";
import { runStep } from "./steps.ts";
import { reachCommand } from "../test/reach.ts";

describe("decideStepNetwork", () => {
  const network: StepNetwork = { slirp4netns: "/usr/bin/slirp4netns", resolvConf: "/w/resolv.conf" };
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

describe("a step on a network of its own", () => {
  let root: string;
  let step: SandboxedStep;
  let network: StepNetwork;
  let hostOnly: Awaited<ReturnType<typeof counter>>;
  let outside: Awaited<ReturnType<typeof counter>>;

  beforeAll(async () => {
    // Under /var/tmp: the step's private /tmp would cover a job folder under /tmp.
    root = realpathSync(mkdtempSync(join(realpathSync(tmpdir()) === "/tmp" ? "/var/tmp" : tmpdir(), "sparki-step-network-")));
    const probe = await probeStepNetwork("bwrap", root);
    if (!probe.ok) throw new Error(`this host cannot give a step its own network: ${probe.reason}`);
    network = probe.network;
    const jobDir = join(root, "job");
    mkdirSync(join(jobDir, "src"), { recursive: true });
    mkdirSync(join(jobDir, "home"));
    step = { sandbox: { bwrap: "bwrap", hidden: [], network }, jobDir };
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
node -e 'const s = require("net").createServer((c) => c.end("own\\n")).listen(0, "127.0.0.1", () => require("net").connect(s.address().port, "127.0.0.1").on("data", (d) => { console.log("own loopback: " + d.toString().trim()); process.exit(0); }))'
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

  it("lets slirp4netns join only once the namespace's loopback is up, which bwrap sets up after it reports the pid", async () => {
    // slirp4netns sets `lo` up as well; when it came first, bwrap's own setup failed ("loopback:
    // Failed RTM_NEWADDR", about one start in eight under load). A stand-in for bwrap makes the
    // window wide: it reports its pid at once and sets its loopback up 300 ms later.
    const record = join(root, "slirp-saw");
    const recordingSlirp = join(root, "slirp4netns-recording");
    writeFileSync(
      recordingSlirp,
      `#!/bin/sh
for arg; do case $arg in ''|*[!0-9]*) ;; *) pid=$arg ;; esac; done
if grep -q 127.0.0.1 /proc/$pid/net/fib_trie; then echo up > ${record}; else echo down > ${record}; fi
exec ${network.slirp4netns} "$@"
`,
      { mode: 0o755 },
    );
    const lateLoopback = spawn(
      "unshare",
      ["--net", "sh", "-c", `printf '{"child-pid": %d}' $$ >&4; exec 4>&-; sleep 0.3; ip link set lo up; head -c 1 <&5 >/dev/null; echo went`],
      { stdio: ["ignore", "pipe", "inherit", "ignore", "pipe", "pipe"] },
    );
    let out = "";
    lateLoopback.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const closed = new Promise((resolve) => lateLoopback.once("close", resolve));
    const link = await connectStepNetwork(lateLoopback, { ...network, slirp4netns: recordingSlirp });
    expect(await closed).toBe(0);
    await link.close();
    expect(out).toBe("went\n");
    expect(readFileSync(record, "utf8")).toBe("up\n");
  }, 30_000);

  it("refuses a sandbox in a user namespace of its own (a runner without root's bwrap), which slirp4netns cannot reliably join", async () => {
    const ownUserNamespace = spawn(
      "unshare",
      ["--user", "--map-root-user", "--net", "sh", "-c", `printf '{"child-pid": %d}' $$ >&4; exec 4>&-; exec head -c 1 <&5 >/dev/null`],
      {
        stdio: ["ignore", "ignore", "inherit", "ignore", "pipe", "pipe"],
      },
    );
    const closed = new Promise((resolve) => ownUserNamespace.once("close", resolve));
    await expect(connectStepNetwork(ownUserNamespace, network)).rejects.toThrow("a step's own network needs a runner that runs as root");
    ownUserNamespace.kill("SIGKILL");
    await closed;
  }, 30_000);

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
