/**
 * The step sandbox: on Linux every step runs under bubblewrap (`bwrap`) in its own mount, pid
 * and ipc namespaces, with the whole host read-only, the job's own folder and a private /tmp
 * writable, a fresh /proc (so the runner's /proc entries, its argv and environment, do not
 * exist for the step), no capabilities, and the runner's config, its work root (other jobs'
 * checkouts) and its state hidden under empty mounts. Builds need registries, so the network
 * stays: the host's own, or (with a {@link StepNetwork}) a namespace of the step's own whose only
 * way out is slirp4netns, which refuses the host's loopback (node/step-network.ts). This file only
 * decides and builds the argv; node/steps.ts spawns it. Shared by the runner and `sparki run`.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";

/** A path the step must not see: a folder gets an empty tmpfs over it, a file /dev/null. */
export interface HiddenPath {
  path: string;
  kind: "dir" | "file";
}

/**
 * A network namespace per step, reaching out through slirp4netns with the host's loopback
 * refused: the services listening there (a development stack's database and Worker inspector,
 * anything a host keeps to itself) are not the step's to reach.
 */
export interface StepNetwork {
  /** slirp4netns's absolute path, found at start. */
  slirp4netns: string;
  /** A resolv.conf naming slirp4netns's resolver, bound over the step's /etc/resolv.conf. */
  resolvConf: string;
  /** util-linux `unshare`'s absolute path: it makes the step's network namespace and becomes bwrap. */
  unshare: string;
  /**
   * For a runner without root: unshare also makes a user namespace (the runner is root in it), which
   * owns the network namespace; `nsenter` puts slirp4netns in it, and bwrap gives the step back the
   * runner's own uid and gid. Null for a runner that runs as root.
   */
  asUser: { nsenter: string; uid: number; gid: number } | null;
}

/** What every sandboxed step of one runner shares. */
export interface Sandbox {
  /** The bwrap binary's absolute path, found at start (never looked up on a job's PATH). */
  bwrap: string;
  hidden: HiddenPath[];
  /** Absent: the step shares the host's network, loopback included. */
  network?: StepNetwork;
}

/** One step's place in the sandbox: its job folder (writable, holds `src/` and `home/`) and cwd. */
export interface SandboxedStep {
  sandbox: Sandbox;
  jobDir: string;
  /**
   * Host folders the step must see even where the sandbox covers them (/tmp, a hidden folder):
   * the runtime version the job runs with. Bound read-only before the hidden paths are covered,
   * so a folder holding one of those (a PATH entry in $HOME beside ~/.sparki-runner) cannot
   * uncover it.
   */
  readOnly?: readonly string[];
}

export type SandboxProbe = { ok: true; bwrap: string } | { ok: false; reason: string };

/**
 * The descriptor bwrap reads the step's environment from (`--args`): NUL-separated
 * `--clearenv --setenv NAME VALUE ...`. Not argv, which every user can read in /proc, and not
 * bwrap's own environment, which would let a job's LD_PRELOAD or LD_LIBRARY_PATH load code from
 * its checkout into bwrap, which runs on the host, outside the sandbox it is about to build.
 */
export const ENV_FD = 3;
/** With a {@link StepNetwork}: bwrap writes JSON here once it has started, the cue for slirp4netns to join. */
export const NET_INFO_FD = 4;
/** With a {@link StepNetwork}: bwrap waits for a byte here, sent once the network is up, before it runs the step. */
export const NET_BLOCK_FD = 5;

// What every sandbox gets, in bwrap's order (later mounts go over earlier ones). No
// --new-session: the runner starts each step with setsid already (its own process group,
// no controlling terminal), and a second session would put the step outside the group that
// cancel and timeouts signal.
export const SANDBOX_BASE_ARGS: readonly string[] = [
  "--die-with-parent",
  "--unshare-pid",
  "--unshare-ipc",
  "--cap-drop",
  "ALL",
  "--ro-bind",
  "/",
  "/",
  "--dev",
  "/dev",
  "--proc",
  "/proc",
  "--tmpfs",
  "/tmp",
];

const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/**
 * The bwrap argv (without the binary) that runs `command` for one step. Hidden paths under
 * /tmp or under another hidden folder are covered already and left out; the job folder is
 * bound after them so it shows through a hidden work root.
 */
export function sandboxArgv(step: SandboxedStep, cwd: string, command: readonly string[]): string[] {
  const dirs = step.sandbox.hidden.filter((h) => h.kind === "dir" && h.path !== "/").map((h) => h.path);
  const args = ["--args", String(ENV_FD), ...SANDBOX_BASE_ARGS];
  const network = step.sandbox.network;
  if (network) args.push(...stepNetworkArgs(network));
  // `-try`: a version removed since the runner started is a missing command, not a sandbox error.
  for (const path of step.readOnly ?? []) if (isAbsolute(path) && path !== "/") args.push("--ro-bind-try", path, path);
  const tmpfs: string[] = [];
  for (const { path, kind } of step.sandbox.hidden) {
    if (path === "/" || within(path, "/tmp") || dirs.some((d) => d !== path && within(path, d))) continue;
    if (kind === "dir") tmpfs.push(path);
    args.push(...(kind === "dir" ? ["--tmpfs", path] : ["--ro-bind", "/dev/null", path]));
  }
  args.push("--bind", step.jobDir, step.jobDir);
  // The empty folders stay read-only like the rest of the host (the job folder bound inside
  // one is a mount of its own and stays writable).
  for (const path of tmpfs) args.push("--remount-ro", path);
  args.push("--chdir", cwd, "--", ...command);
  return args;
}

/** bwrap's options for a step on a network of its own (node/step-network.ts brings it up). */
export function stepNetworkArgs(network: StepNetwork): string[] {
  const args = ["--info-fd", String(NET_INFO_FD), "--block-fd", String(NET_BLOCK_FD), "--ro-bind", network.resolvConf, "/etc/resolv.conf"];
  // Root in unshare's user namespace, bwrap would run the step as root there: it gets the runner's ids back.
  if (network.asUser) args.push("--unshare-user", "--uid", String(network.asUser.uid), "--gid", String(network.asUser.gid));
  return args;
}

/**
 * The program and argv that run bwrap with `bwrapArgs`. With a network of the step's own, bwrap
 * starts inside a network namespace `unshare` has made (bwrap's `--unshare-net` would make it
 * inside bwrap's own user namespace, which a runner without root cannot reliably join): it stays
 * the namespace slirp4netns joins, bwrap touches none of it, and the holder is bwrap's own pid.
 */
export function sandboxCommand(sandbox: Sandbox, bwrapArgs: readonly string[]): [file: string, args: string[]] {
  const network = sandbox.network;
  if (!network) return [sandbox.bwrap, [...bwrapArgs]];
  return [network.unshare, [...(network.asUser ? ["--user", "--map-root-user"] : []), "--net", "--", sandbox.bwrap, ...bwrapArgs]];
}

/**
 * The step's whole environment as bwrap reads it from {@link ENV_FD}. A name or value with a NUL
 * (which no environment can hold anyway) is dropped: it would split into extra bwrap options.
 */
export function sandboxEnvArgs(env: NodeJS.ProcessEnv): Buffer {
  const parts = ["--clearenv"];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name === "" || name.includes("=") || name.includes("\0") || value.includes("\0")) continue;
    parts.push("--setenv", name, value);
  }
  return Buffer.from(`${parts.join("\0")}\0`);
}

/** The folder in a job's folder that sandboxed steps get as $HOME. */
export function stepHome(jobDir: string): string {
  return join(jobDir, "home");
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/**
 * What `npm run` and `npx` put in front of the command they start (a package's node_modules/.bin,
 * npm's node-gyp-bin): the runner's launcher's tools, never the job's. A step that ran a build
 * tool it had not installed would otherwise find the runner's own copy and pass.
 */
const launcherBin = /\/node_modules\/\.bin\/?$|\/node-gyp-bin\/?$/;

/**
 * The base environment of a sandboxed step: PATH (the runner's absolute entries, so the
 * host's tools are found; a relative entry would run whatever the checkout holds; not its
 * launcher's node_modules/.bin), a HOME of its own, LANG and TMPDIR. Nothing else of the
 * runner's environment reaches the step; the job's variables and secrets go on top
 * (runner/job.ts), and all of it reaches the step through {@link ENV_FD}.
 */
export function sandboxBaseEnv(jobDir: string, host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const path = (host.PATH ?? "").split(":").filter((p) => isAbsolute(p) && !launcherBin.test(p));
  return { PATH: path.length > 0 ? path.join(":") : DEFAULT_PATH, HOME: stepHome(jobDir), LANG: host.LANG || "C.UTF-8", TMPDIR: "/tmp" };
}

/**
 * What a runner hides from its steps: its work root (every job's folder), its config file,
 * and the config's folder when it is a Sparki folder of its own (`~/.sparki-runner`, the dev
 * stack's `.sparki/` with worker.env and the dev secrets), never a shared one such as $HOME or
 * /etc. Paths are resolved (symlinks included) so the mounts land where the files are.
 */
export function hiddenPaths(opts: { configPath: string; workDir: string; extra?: string[] }): HiddenPath[] {
  const configDir = dirname(resolve(opts.configPath));
  const ownDir = /sparki/i.test(basename(configDir)) && dirname(configDir) !== configDir ? [configDir] : [];
  const out: HiddenPath[] = [];
  for (const candidate of [opts.workDir, ...ownDir, opts.configPath, ...(opts.extra ?? [])]) {
    let path: string;
    let kind: HiddenPath["kind"];
    try {
      path = realpathSync(resolve(candidate));
      kind = statSync(path).isDirectory() ? "dir" : "file";
    } catch {
      continue; // Nothing there: nothing to hide.
    }
    if (!out.some((h) => h.path === path)) out.push({ path, kind });
  }
  return out;
}

/**
 * Does bubblewrap work here? Runs a real sandbox of the kind steps get (`true` inside), once,
 * at the runner's start: bwrap may be missing, or present while the kernel refuses it the
 * namespaces it needs (unprivileged user namespaces off, a container without them).
 */
export function probeSandbox(bwrap = "bwrap", platform: NodeJS.Platform = process.platform): Promise<SandboxProbe> {
  if (platform !== "linux") return Promise.resolve({ ok: false, reason: `the sandbox uses bubblewrap, which is Linux-only (this host is ${platform})` });
  const path = findExecutable(bwrap);
  if (path === null) return Promise.resolve({ ok: false, reason: `${bwrap} was not found on PATH (Debian/Ubuntu: apt-get install bubblewrap)` });
  return new Promise((done) => {
    const child = spawn(path, [...SANDBOX_BASE_ARGS, "--", "true"], { env: {}, stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (err: NodeJS.ErrnoException) =>
      done({
        ok: false,
        reason:
          err.code === "ENOENT" ? `${bwrap} was not found on PATH (Debian/Ubuntu: apt-get install bubblewrap)` : `${bwrap} could not start: ${err.message}`,
      }),
    );
    child.once("close", (code, signal) => {
      if (code === 0) return done({ ok: true, bwrap: path });
      const why = lastLine(stderr) || (signal ? `killed by ${signal}` : `exit ${code}`);
      done({ ok: false, reason: `${bwrap} does not work here: ${why} (user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone=1)` });
    });
  });
}

/** The last line a tool wrote (its stderr, where it says why it failed), "" for none. */
export function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

/** An executable's absolute path: `name` itself when it has a '/', else the first on PATH's absolute entries. */
export function findExecutable(name: string, path = process.env.PATH ?? ""): string | null {
  const candidates = name.includes("/")
    ? [resolve(name)]
    : path
        .split(":")
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** Where the runner's jobs go, as it registered: told by `register`, absent in older configs. */
export type RunnerPool = "shared" | "workspace";

export type SandboxDecision = { mode: "sandbox"; note: string } | { mode: "none"; note: string } | { mode: "refuse"; reason: string };

/**
 * Whether this runner sandboxes its steps. A shared-pool runner runs every workspace's code,
 * so without a working sandbox it refuses to start; `--no-sandbox` is for a workspace's own
 * runners, and for a development stack whose control plane is on this machine (its "shared
 * pool" is one developer's own builds). A config without a pool counts as shared.
 */
export function decideSandbox(opts: { probe: SandboxProbe; noSandbox: boolean; pool: RunnerPool | undefined; localControlPlane: boolean }): SandboxDecision {
  const shared = opts.pool !== "workspace";
  const pool = opts.pool === undefined ? "an unknown pool (set SPARKI_RUNNER_POOL, or register again to record it in the config)" : `the ${opts.pool} pool`;
  if (opts.noSandbox) {
    if (!shared)
      return { mode: "none", note: "sandbox off (--no-sandbox): steps run as this runner's user with its environment; this runner serves only its workspace" };
    if (opts.localControlPlane)
      return {
        mode: "none",
        note: "sandbox off (--no-sandbox): steps run as this runner's user; allowed for the shared pool only because the control plane is on this machine (a development stack)",
      };
    return {
      mode: "refuse",
      reason: `--no-sandbox is refused: this runner serves ${pool}, where any workspace's steps would run with this runner's authority; register it with a workspace's token to run that workspace's jobs unsandboxed`,
    };
  }
  if (opts.probe.ok) return { mode: "sandbox", note: "sandbox on (bubblewrap): steps see their checkout, a private /tmp and a read-only host" };
  if (shared)
    return {
      mode: "refuse",
      reason: `cannot sandbox steps: ${opts.probe.reason}; this runner serves ${pool} and refuses to run other workspaces' code unsandboxed`,
    };
  return {
    mode: "refuse",
    reason: `cannot sandbox steps: ${opts.probe.reason}; install bubblewrap, or pass --no-sandbox (or SPARKI_RUNNER_NO_SANDBOX=1) to run this workspace's jobs unsandboxed`,
  };
}

/** Is the control plane's host this machine (loopback)? */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}
