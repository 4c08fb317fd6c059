/**
 * A step's own network (node/sandbox.ts, StepNetwork). bwrap makes an empty network namespace and
 * writes the sandbox's pid to NET_INFO_FD; slirp4netns joins that namespace and brings up `tap0`
 * with a route and a resolver (10.0.2.3) out through the host, refusing the host's loopback
 * (`--disable-host-loopback`); then one byte on NET_BLOCK_FD lets bwrap run the step. The step's
 * own `lo` works as ever: a server its tests start on 127.0.0.1 is its own.
 *
 * Why: the services a host keeps to itself listen on its loopback. On a development stack those
 * are the platform's own (the embedded Postgres, wrangler's inspector into the Worker, which holds
 * every secret), so a repository's step must not reach them. A service listening on every address
 * stays reachable, as it is from the host's network. Only for a runner that runs as root
 * (assertSameUserNamespace says why).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { terminateGroup } from "./process-group.ts";
import { findExecutable, NET_BLOCK_FD, NET_INFO_FD, SANDBOX_BASE_ARGS, type StepNetwork, stepNetworkArgs } from "./sandbox.ts";

/** slirp4netns's resolver inside the namespace (its default network 10.0.2.0/24). */
const SLIRP_RESOLVER = "10.0.2.3";
/** Up in about 20 ms here; this long means something is wrong, and the step does not run. */
const UP_TIMEOUT_MS = 10_000;
const INSTALL_HINT = "Debian/Ubuntu: apt-get install slirp4netns";

/** The step's resolv.conf: slirp4netns's resolver, with the host's search domains and options. */
export function stepResolvConf(hostResolvConf: string): string {
  const kept = hostResolvConf.split("\n").filter((line) => /^\s*(search|domain|options)\s/.test(line));
  return [`nameserver ${SLIRP_RESOLVER}`, ...kept, ""].join("\n");
}

/** A step's network while it runs; `close()` ends slirp4netns (the namespace goes with the step). */
export interface StepNetworkLink {
  close(): Promise<void>;
}

/** The sandbox's pid, from bwrap's `--info-fd` JSON (`{"child-pid": N, ...}`). */
function sandboxPid(info: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      try {
        const pid = (JSON.parse(text) as { "child-pid"?: unknown })["child-pid"];
        if (typeof pid === "number" && Number.isInteger(pid) && pid > 0) {
          info.off("data", onData);
          info.destroy();
          resolve(pid);
        }
      } catch {
        // Not all of it yet.
      }
    };
    info.on("data", onData);
    info.once("error", () => undefined);
    info.once("close", () => reject(new Error("bwrap ended before it made the step's network namespace")));
  });
}

/**
 * Brings up the network of a bwrap started with stepNetworkArgs (its NET_INFO_FD and NET_BLOCK_FD
 * slots piped), then lets bwrap run the step. Rejects when slirp4netns cannot, leaving bwrap
 * blocked: the caller ends the sandbox, so no step runs on a network it was not meant to have.
 */
export async function connectStepNetwork(sandbox: ChildProcess, network: StepNetwork): Promise<StepNetworkLink> {
  // Node types stdio as a five-slot tuple; bwrap's were piped past it.
  const slots = sandbox.stdio as unknown as ReadonlyArray<Readable | Writable | null | undefined>;
  const info = slots[NET_INFO_FD] as Readable;
  const block = slots[NET_BLOCK_FD] as Writable;
  block.on("error", () => undefined);
  const pid = await withTimeout(sandboxPid(info), "bwrap to report the step's namespace");
  assertSameUserNamespace(pid);
  // bwrap reports the pid before its child has set the namespace's loopback up; slirp4netns
  // sets `lo` up too, and when it wins, bwrap's own setup fails ("loopback: Failed
  // RTM_NEWADDR"; one start in eight here under load). So it joins once bwrap's part is done.
  await loopbackUp(pid);
  // fd 3: slirp4netns writes there once tap0 is configured; fd 4: it exits when that closes.
  const slirp = spawn(network.slirp4netns, [...SLIRP_ARGS, "--ready-fd=3", "--exit-fd=4", String(pid), "tap0"], {
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
  });
  const exitPipe = slirp.stdio[4] as Writable;
  exitPipe.on("error", () => undefined);
  const exited = new Promise<void>((resolve) => slirp.once("close", () => resolve()));
  const close = async () => {
    exitPipe.destroy();
    const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
    if (!gone) slirp.kill("SIGKILL");
  };
  let stderr = "";
  slirp.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const up = new Promise<void>((resolve, reject) => {
    (slirp.stdio[3] as Readable).once("data", () => resolve());
    slirp.once("error", reject);
    slirp.once("close", (code, signal) => {
      const said = stderr.trim().split("\n").pop();
      reject(new Error(`slirp4netns ended (${signal ?? `exit ${code}`})${said ? `: ${said}` : ""}`));
    });
  });
  try {
    await withTimeout(up, "slirp4netns to bring the step's network up");
  } catch (err) {
    await close();
    throw err;
  }
  block.end("1");
  return { close };
}

/**
 * slirp4netns parses whatever the step sends, so it runs with as little as it needs: seccomp, a
 * mount namespace of its own, and no capability but binding low ports.
 */
const SLIRP_ARGS = ["--configure", "--mtu=65520", "--disable-host-loopback", "--enable-seccomp", "--enable-sandbox"];

/**
 * The namespace must be one the runner can enter as it is. A runner without root gets a bwrap
 * that makes a user namespace owning the network namespace, then moves into a nested one a few
 * milliseconds later (measured: 5–30 ms), so the user namespace slirp4netns would have to join
 * (`--userns-path`) is gone from /proc by the time it does, and it fails with "setns(CLONE_NEWNET):
 * Operation not permitted" in some starts. Refused, rather than a network that works most times.
 */
function assertSameUserNamespace(pid: number): void {
  let theirs: string;
  try {
    theirs = readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    throw new Error("bwrap ended before it made the step's network namespace");
  }
  if (theirs !== readlinkSync("/proc/self/ns/user")) {
    throw new Error("a step's own network needs a runner that runs as root (bwrap makes its sandbox in a user namespace of its own otherwise)");
  }
}

/** Resolves once 127.0.0.1 is a local address in the namespace of `pid` (its loopback is up); polls, so it keeps its own deadline. */
async function loopbackUp(pid: number): Promise<void> {
  const deadline = Date.now() + UP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    let table: string;
    try {
      table = readFileSync(`/proc/${pid}/net/fib_trie`, "utf8");
    } catch {
      throw new Error("bwrap ended before it set up the step's network namespace");
    }
    if (table.includes("127.0.0.1")) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`timed out after ${UP_TIMEOUT_MS / 1000} s waiting for bwrap to set up the step's loopback`);
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  // Settled after the deadline (the sandbox killed meanwhile), it must not count as unhandled.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${UP_TIMEOUT_MS / 1000} s waiting for ${what}`)), UP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export type StepNetworkProbe = { ok: true; network: StepNetwork } | { ok: false; reason: string };

/**
 * Can steps have a network of their own here? Finds slirp4netns, writes the steps' resolv.conf
 * into `dir` (the runner's work root, hidden from steps) and brings up one real namespace
 * (`true` inside), once, at the runner's start.
 */
export async function probeStepNetwork(bwrap: string, dir: string, slirp4netns = "slirp4netns"): Promise<StepNetworkProbe> {
  const path = findExecutable(slirp4netns);
  if (path === null) return { ok: false, reason: `${slirp4netns} was not found on PATH (${INSTALL_HINT})` };
  const resolvConf = join(dir, "resolv.conf");
  let hostResolvConf = "";
  try {
    hostResolvConf = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    // No resolver configured on the host: the step gets slirp4netns's alone.
  }
  writeFileSync(resolvConf, stepResolvConf(hostResolvConf), { mode: 0o644 });
  const network: StepNetwork = { slirp4netns: path, resolvConf };
  // A group of its own, as a step's: a sandbox left waiting for its network is killed whole.
  const child = spawn(bwrap, [...SANDBOX_BASE_ARGS, ...stepNetworkArgs(network), "--", "true"], {
    env: {},
    detached: true,
    stdio: ["ignore", "ignore", "pipe", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", () => resolve(null));
    child.once("close", (code) => resolve(code));
  });
  try {
    const link = await connectStepNetwork(child, network);
    const code = await exited;
    await link.close();
    if (code === 0) return { ok: true, network };
    return { ok: false, reason: `a sandbox on its own network failed: ${stderr.trim().split("\n").pop() || `exit ${code}`}` };
  } catch (err) {
    if (child.pid !== undefined) await terminateGroup(child.pid, 0);
    await exited;
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** `--step-network`: `isolated` requires a network of the step's own, `host` declines it, `auto` takes it where it works. */
export const stepNetworkModes = ["auto", "isolated", "host"] as const;
export type StepNetworkMode = (typeof stepNetworkModes)[number];

export type StepNetworkDecision = { network?: StepNetwork; note: string } | { refuse: string };

/** What the runner's steps get for a network, and the line it says at start. */
export function decideStepNetwork(opts: { mode: StepNetworkMode; sandboxed: boolean; probe: StepNetworkProbe | null }): StepNetworkDecision {
  if (opts.mode === "host") return { note: "steps' network: the host's (--step-network host), this host's loopback services included" };
  if (!opts.sandboxed) {
    if (opts.mode === "isolated") return { refuse: "--step-network isolated needs the sandbox; leave out --no-sandbox" };
    return { note: "steps' network: the host's (not sandboxed), this host's loopback services included" };
  }
  if (opts.probe?.ok) {
    return { network: opts.probe.network, note: "steps' network: one of each step's own, out through slirp4netns; this host's loopback is out of its reach" };
  }
  const reason = opts.probe?.reason ?? "not tried";
  if (opts.mode === "isolated") return { refuse: `--step-network isolated: ${reason}` };
  return { note: `steps' network: the host's, this host's loopback services included (${reason})` };
}
