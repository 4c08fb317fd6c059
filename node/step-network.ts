/**
 * A step's own network (node/sandbox.ts, StepNetwork). `unshare` makes an empty network namespace
 * and becomes bwrap, which writes its sandbox's pid to NET_INFO_FD once it has started; slirp4netns
 * then joins that namespace (bwrap's, which bwrap never touches) and brings up `tap0` with a route
 * and a resolver (10.0.2.3) out through the host, refusing the host's loopback
 * (`--disable-host-loopback`), and sets `lo` up; then one byte on NET_BLOCK_FD lets bwrap run the
 * step. The step's own `lo` works as ever: a server its tests start on 127.0.0.1 is its own.
 *
 * A runner without root gets a user namespace from unshare as well, in which it is root: it owns
 * the network namespace, slirp4netns runs in it (through nsenter) so its own sandbox works, and
 * bwrap hands the step the runner's uid and gid back (sandbox.ts, stepNetworkArgs).
 *
 * Why: the services a host keeps to itself listen on its loopback. On a development stack those
 * are the platform's own (the embedded Postgres, wrangler's inspector into the Worker, which holds
 * every secret), so a repository's step must not reach them. A service listening on every address
 * stays reachable, as it is from the host's network.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { terminateGroup } from "./process-group.ts";
import { findExecutable, lastLine, NET_BLOCK_FD, NET_INFO_FD, SANDBOX_BASE_ARGS, sandboxCommand, type StepNetwork, stepNetworkArgs } from "./sandbox.ts";

/** slirp4netns's resolver inside the namespace (its default network 10.0.2.0/24). */
const SLIRP_RESOLVER = "10.0.2.3";
/** Up in about 20 ms here; this long means something is wrong, and the step does not run. */
const UP_TIMEOUT_MS = 10_000;
const SLIRP_HINT = "Debian/Ubuntu: apt-get install slirp4netns";
const UTIL_LINUX_HINT = "it comes with util-linux";

/** The step's resolv.conf: slirp4netns's resolver, with the host's search domains and options. */
export function stepResolvConf(hostResolvConf: string): string {
  const kept = hostResolvConf.split("\n").filter((line) => /^\s*(search|domain|options)\s/.test(line));
  return [`nameserver ${SLIRP_RESOLVER}`, ...kept, ""].join("\n");
}

/** A step's network while it runs; `close()` ends slirp4netns (the namespace goes with the step). */
export interface StepNetworkLink {
  close(): Promise<void>;
}

/** Resolves once bwrap has written its `--info-fd` JSON (`{"child-pid": N, ...}`): it has started. */
function sandboxStarted(info: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      try {
        const pid = (JSON.parse(text) as { "child-pid"?: unknown })["child-pid"];
        if (typeof pid === "number" && Number.isInteger(pid) && pid > 0) {
          info.off("data", onData);
          info.destroy();
          resolve();
        }
      } catch {
        // Not all of it yet.
      }
    };
    info.on("data", onData);
    info.once("error", () => undefined);
    info.once("close", () => reject(new Error("bwrap ended before it started the step's sandbox")));
  });
}

/**
 * Brings up the network of a sandbox started with sandboxCommand (its NET_INFO_FD and NET_BLOCK_FD
 * slots piped), then lets bwrap run the step. Rejects when slirp4netns cannot, leaving bwrap
 * blocked: the caller ends the sandbox, so no step runs on a network it was not meant to have.
 */
export async function connectStepNetwork(sandbox: ChildProcess, network: StepNetwork): Promise<StepNetworkLink> {
  // Node types stdio as a five-slot tuple; bwrap's were piped past it.
  const slots = sandbox.stdio as unknown as ReadonlyArray<Readable | Writable | null | undefined>;
  const info = slots[NET_INFO_FD] as Readable;
  const block = slots[NET_BLOCK_FD] as Writable;
  block.on("error", () => undefined);
  await withTimeout(sandboxStarted(info), "bwrap to start the step's sandbox");
  // unshare became bwrap: the pid spawned holds the namespaces (bwrap's sandbox may nest a user namespace of its own).
  const holder = `/proc/${sandbox.pid}/ns`;
  assertOwnNetwork(holder);
  const slirpArgs = [...SLIRP_ARGS, "--ready-fd=3", "--exit-fd=4", "--netns-type=path", `${holder}/net`, "tap0"];
  const [file, args] = network.asUser
    ? [network.asUser.nsenter, [`--user=${holder}/user`, "--preserve-credentials", "--", network.slirp4netns, ...slirpArgs]]
    : [network.slirp4netns, slirpArgs];
  // fd 3: slirp4netns writes there once tap0 is configured; fd 4: it exits when that closes.
  const slirp = spawn(file, args, {
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
      const said = lastLine(stderr);
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

/** The sandbox must be in a network namespace other than the runner's: slirp4netns must never configure the host's. */
function assertOwnNetwork(holder: string): void {
  let theirs: string;
  try {
    theirs = readlinkSync(`${holder}/net`);
  } catch {
    throw new Error("bwrap ended before the step's network was up");
  }
  if (theirs === readlinkSync("/proc/self/ns/net")) throw new Error("the step's sandbox did not get a network namespace of its own");
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
 * Can steps have a network of their own here? Finds slirp4netns and util-linux's unshare (and
 * nsenter, for a runner without root), writes the steps' resolv.conf into `dir` (the runner's work
 * root, hidden from steps) and brings up one real namespace (`true` inside), once, at the runner's
 * start.
 */
export async function probeStepNetwork(bwrap: string, dir: string, slirp4netns = "slirp4netns"): Promise<StepNetworkProbe> {
  const uid = process.getuid?.() ?? 0;
  const found: Record<string, string> = {};
  for (const name of [slirp4netns, "unshare", ...(uid === 0 ? [] : ["nsenter"])]) {
    const path = findExecutable(name);
    if (path === null) return { ok: false, reason: `${name} was not found on PATH (${name === slirp4netns ? SLIRP_HINT : UTIL_LINUX_HINT})` };
    found[name] = path;
  }
  const resolvConf = join(dir, "resolv.conf");
  let hostResolvConf = "";
  try {
    hostResolvConf = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    // No resolver configured on the host: the step gets slirp4netns's alone.
  }
  writeFileSync(resolvConf, stepResolvConf(hostResolvConf), { mode: 0o644 });
  const nsenter = found.nsenter;
  const network: StepNetwork = {
    slirp4netns: found[slirp4netns] as string,
    resolvConf,
    unshare: found.unshare as string,
    asUser: nsenter ? { nsenter, uid, gid: process.getgid?.() ?? 0 } : null,
  };
  // A group of its own, as a step's: a sandbox left waiting for its network is killed whole.
  const [file, args] = sandboxCommand({ bwrap, hidden: [], network }, [...SANDBOX_BASE_ARGS, ...stepNetworkArgs(network), "--", "true"]);
  const child = spawn(file, args, {
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
    return { ok: false, reason: `a sandbox on its own network failed: ${lastLine(stderr) || `exit ${code}`}` };
  } catch (err) {
    if (child.pid !== undefined) await terminateGroup(child.pid, 0);
    await exited;
    // unshare or bwrap refusing (user namespaces not allowed, say) says why on stderr.
    const said = lastLine(stderr);
    return { ok: false, reason: `${err instanceof Error ? err.message : String(err)}${said ? ` (${said})` : ""}` };
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
