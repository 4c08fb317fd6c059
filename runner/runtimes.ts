/**
 * What language runtimes this host has, found once when the runner starts: the first `node`,
 * `python3`, `go` and `rustc` on its PATH (asked for their version), and every version installed
 * by the usual version managers (read from their folders' names, nothing run):
 *
 * | runtime | folders (the variable that moves the root, then its default) |
 * |---|---|
 * | node | nvm `$NVM_DIR/versions/node/v*` (~/.nvm), fnm `$FNM_DIR/node-versions/v*\/installation` (~/.local/share/fnm, ~/.fnm), Volta `$VOLTA_HOME/tools/image/node/*` (~/.volta), asdf `$ASDF_DATA_DIR/installs/nodejs/*` (~/.asdf), mise `$MISE_DATA_DIR/installs/node/*` (~/.local/share/mise) |
 * | python | pyenv `$PYENV_ROOT/versions/*` (~/.pyenv), asdf `installs/python/*`, mise `installs/python/*` |
 * | go | `$GOROOT` (/usr/local/go), goenv `$GOENV_ROOT/versions/*` (~/.goenv), asdf `installs/golang/*\/go`, mise `installs/go/*` |
 * | rust | rustup `$RUSTUP_HOME/toolchains/*` (~/.rustup), asdf `installs/rust/*`, mise `installs/rust/*` |
 *
 * Each is reported to the server as a label (core/runtimes/labels.ts) with every claim; a job
 * that needs one runs with that install's bin folder first on PATH.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { MAX_RUNTIME_LABELS, type RuntimeName, type RuntimeRequirement, requirementLabel, runtimeLabel } from "../core/runtimes/labels.ts";

/** One install of a runtime. */
export interface RuntimeInstall {
  name: RuntimeName;
  /** Its full version (`22.11.0`). */
  version: string;
  /** `node-22` (core/runtimes/labels.ts). */
  label: string;
  /** The folder that goes first on a step's PATH. */
  bin: string;
  /** The install's own folder, bound read-only into a sandboxed step (the bin's target may live outside the bin). */
  root: string;
  /** Where it was found: `PATH`, `nvm`, `pyenv`, … (for the start line). */
  source: string;
}

export interface DiscoveryOptions {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** Ask the runtimes on PATH for their versions (off in tests that only look at folders). */
  probePath?: boolean;
}

/** A version manager's folder of installs: each entry is a version, its binary at `bin/exe`. */
interface Layout {
  name: RuntimeName;
  source: string;
  /** Candidate folders holding one sub-folder per version; the first that exists is read. */
  roots: (string | null)[];
  /** From the version folder to its install root (fnm nests it in `installation/`). */
  inner?: string;
  /** The binary, relative to the install root. */
  exe: string;
}

const EXECUTABLES: Readonly<Record<RuntimeName, { exe: string; args: string[] }>> = {
  node: { exe: "node", args: ["--version"] },
  python: { exe: "python3", args: ["--version"] },
  go: { exe: "go", args: ["version"] },
  rust: { exe: "rustc", args: ["--version"] },
};

/** `v22.11.0`, `3.12.4`, `1.79.0-x86_64-unknown-linux-gnu`, `go1.22.5` → the dotted number; null for `stable`, `pypy3.10`. */
export function versionOfName(name: string): string | null {
  const match = /^(?:v|go)?(\d+\.\d+(?:\.\d+)?)(?=$|[-+]|[a-z]+\d*$)/i.exec(name.trim());
  return match?.[1] ?? null;
}

function layouts(env: NodeJS.ProcessEnv, home: string): Layout[] {
  const set = (name: string) => (env[name] ? env[name] : null);
  const xdgData = set("XDG_DATA_HOME") ?? join(home, ".local", "share");
  const asdf = join(set("ASDF_DATA_DIR") ?? join(home, ".asdf"), "installs");
  const mise = join(set("MISE_DATA_DIR") ?? join(xdgData, "mise"), "installs");
  const fnm = set("FNM_DIR");
  return [
    { name: "node", source: "nvm", roots: [join(set("NVM_DIR") ?? join(home, ".nvm"), "versions", "node")], exe: "bin/node" },
    {
      name: "node",
      source: "fnm",
      roots: fnm ? [join(fnm, "node-versions")] : [join(xdgData, "fnm", "node-versions"), join(home, ".fnm", "node-versions")],
      inner: "installation",
      exe: "bin/node",
    },
    { name: "node", source: "volta", roots: [join(set("VOLTA_HOME") ?? join(home, ".volta"), "tools", "image", "node")], exe: "bin/node" },
    { name: "node", source: "asdf", roots: [join(asdf, "nodejs")], exe: "bin/node" },
    { name: "node", source: "mise", roots: [join(mise, "node")], exe: "bin/node" },
    { name: "python", source: "pyenv", roots: [join(set("PYENV_ROOT") ?? join(home, ".pyenv"), "versions")], exe: "bin/python3" },
    { name: "python", source: "asdf", roots: [join(asdf, "python")], exe: "bin/python3" },
    { name: "python", source: "mise", roots: [join(mise, "python")], exe: "bin/python3" },
    { name: "go", source: "goenv", roots: [join(set("GOENV_ROOT") ?? join(home, ".goenv"), "versions")], exe: "bin/go" },
    { name: "go", source: "asdf", roots: [join(asdf, "golang")], inner: "go", exe: "bin/go" },
    { name: "go", source: "mise", roots: [join(mise, "go")], exe: "bin/go" },
    { name: "rust", source: "rustup", roots: [join(set("RUSTUP_HOME") ?? join(home, ".rustup"), "toolchains")], exe: "bin/rustc" },
    { name: "rust", source: "asdf", roots: [join(asdf, "rust")], exe: "bin/rustc" },
    { name: "rust", source: "mise", roots: [join(mise, "rust")], exe: "bin/rustc" },
  ];
}

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

const entries = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** Installs in one version manager's folder, named by version (nothing is run). */
function fromLayout(layout: Layout): RuntimeInstall[] {
  const root = layout.roots.find((r) => r !== null && entries(r).length > 0);
  if (!root) return [];
  const found: RuntimeInstall[] = [];
  for (const entry of entries(root)) {
    const version = versionOfName(entry);
    if (version === null) continue;
    const installRoot = layout.inner ? join(root, entry, layout.inner) : join(root, entry);
    const exe = join(installRoot, layout.exe);
    const label = runtimeLabel(layout.name, version);
    if (label === null || !executable(exe)) continue;
    found.push({ name: layout.name, version, label, bin: dirname(exe), root: installRoot, source: layout.source });
  }
  return found;
}

/** Go's own install (/usr/local/go, or $GOROOT): its VERSION file says `go1.22.5`. */
function goRoot(env: NodeJS.ProcessEnv): RuntimeInstall[] {
  const root = env.GOROOT || "/usr/local/go";
  let version: string | null = null;
  try {
    version = versionOfName(readFileSync(join(root, "VERSION"), "utf8").split("\n")[0] ?? "");
  } catch {
    return [];
  }
  const label = version === null ? null : runtimeLabel("go", version);
  if (version === null || label === null || !executable(join(root, "bin", "go"))) return [];
  return [{ name: "go", version, label, bin: join(root, "bin"), root, source: "GOROOT" }];
}

/** The first `exe` on PATH's absolute entries. */
function onPath(exe: string, path: string): string | null {
  for (const dir of path.split(":")) {
    if (!isAbsolute(dir)) continue;
    if (executable(join(dir, exe))) return join(dir, exe);
  }
  return null;
}

function ask(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 10_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) return resolve(null);
      // `node v22.11.0`, `Python 3.12.4`, `go version go1.22.5 linux/amd64`, `rustc 1.79.0 (…)`.
      const match = /(?:^|[\sv]|go)(\d+\.\d+(?:\.\d+)?)/.exec(`${stdout}\n${stderr}`);
      resolve(match?.[1] ?? null);
    });
  });
}

/** The runtimes on PATH, asked for their versions. */
async function fromPath(env: NodeJS.ProcessEnv): Promise<RuntimeInstall[]> {
  const path = env.PATH ?? "";
  const found = await Promise.all(
    (Object.keys(EXECUTABLES) as RuntimeName[]).map(async (name): Promise<RuntimeInstall | null> => {
      const { exe, args } = EXECUTABLES[name];
      const file = onPath(exe, path);
      if (file === null) return null;
      const version = await ask(file, args, env);
      const label = version === null ? null : runtimeLabel(name, version);
      if (version === null || label === null) return null;
      let root = dirname(file);
      try {
        // /usr/bin/node → /usr/lib/nodejs/bin/node: the target's install folder, for the sandbox.
        root = dirname(dirname(realpathSync(file)));
      } catch {
        // Keep the PATH folder.
      }
      return { name, version, label, bin: dirname(file), root, source: "PATH" };
    }),
  );
  return found.filter((f): f is RuntimeInstall => f !== null);
}

const compareVersions = (a: string, b: string) => {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};

/** Every runtime this host has: PATH's first, then the version managers' installs. */
export async function discoverRuntimes(opts: DiscoveryOptions = {}): Promise<RuntimeInstall[]> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? env.HOME ?? homedir();
  const path = opts.probePath === false ? [] : await fromPath(env);
  return [...path, ...goRoot(env), ...layouts(env, home).flatMap(fromLayout)];
}

/**
 * The distinct labels of `installs`, sorted: what a claim reports. Past the protocol's limit
 * ({@link MAX_RUNTIME_LABELS}; a claim over it would be refused, and a refused claim stops the
 * runner) each runtime keeps its newest versions, taken in turn, so none is left out entirely.
 */
export function runtimeLabels(installs: readonly RuntimeInstall[], max = MAX_RUNTIME_LABELS): string[] {
  const all = [...new Set(installs.map((i) => i.label))];
  if (all.length <= max) return all.sort();
  const byName = new Map<string, string[]>();
  for (const label of all) {
    const name = label.slice(0, label.indexOf("-"));
    byName.set(name, [...(byName.get(name) ?? []), label]);
  }
  const queues = [...byName.values()].map((labels) => labels.sort((a, b) => compareVersions(b.slice(b.indexOf("-") + 1), a.slice(a.indexOf("-") + 1))));
  const kept: string[] = [];
  while (kept.length < max) for (const queue of queues) if (kept.length < max && queue.length > 0) kept.push(queue.shift() as string);
  return kept.sort();
}

/**
 * The install a job's requirement runs with: of those with its label, the newest version (a patch
 * release fixes, it does not break), and of equal versions the one found first (PATH before the
 * version managers). Null when this runner has none.
 */
export function installFor(installs: readonly RuntimeInstall[], wanted: RuntimeRequirement): RuntimeInstall | null {
  const label = requirementLabel(wanted);
  let best: RuntimeInstall | null = null;
  for (const install of installs) {
    if (install.label !== label) continue;
    if (best === null || compareVersions(install.version, best.version) > 0) best = install;
  }
  return best;
}

/** `node-22 (22.11.0, PATH), python-3.12 (3.12.4, pyenv)`: the start line's summary. */
export function describeRuntimes(installs: readonly RuntimeInstall[]): string {
  if (installs.length === 0) return "none found";
  return installs.map((i) => `${i.label} (${i.version}, ${i.source})`).join(", ");
}

/** The install a job runs with: none when it needs none, an error when this runner lacks it. */
export type JobRuntime = { ok: true; install: RuntimeInstall | null } | { ok: false; error: string };

export function jobRuntime(wanted: RuntimeRequirement | undefined, installs: readonly RuntimeInstall[]): JobRuntime {
  if (!wanted) return { ok: true, install: null };
  const install = installFor(installs, wanted);
  if (install) return { ok: true, install };
  // The server hands such a job only to runners that reported the label; this one was registered
  // with it by hand, or lost the install since it started.
  const have = runtimeLabels(installs).filter((l) => l.startsWith(`${wanted.name}-`));
  return {
    ok: false,
    error: `this runner has no ${requirementLabel(wanted)} (it has ${have.length > 0 ? have.join(", ") : `no ${wanted.name}`}); restart it after installing one`,
  };
}

/** What a job's steps get from its runtime: PATH's first folder, folders to bind, the cache key's environment. */
export interface RuntimeSetup {
  /** Why the job cannot run here (already in the log), else null. */
  error: string | null;
  pathFirst: string | null;
  readOnly: string[];
  /** The runner's environment with the runtime first on PATH, for asking its version (cache keys). */
  env: NodeJS.ProcessEnv | undefined;
}

/** Picks a steps job's runtime and says in its log which one (or why there is none). */
export function runtimeSetup(
  job: { kind: "plan" | "steps"; runtime?: RuntimeRequirement | undefined },
  installs: readonly RuntimeInstall[],
  log: { note(line: string): void },
  host: NodeJS.ProcessEnv = process.env,
): RuntimeSetup {
  const none: RuntimeSetup = { error: null, pathFirst: null, readOnly: [], env: undefined };
  if (job.kind !== "steps") return none;
  const picked = jobRuntime(job.runtime, installs);
  if (!picked.ok) {
    log.note(`sparki: ${picked.error}`);
    return { ...none, error: picked.error };
  }
  const install = picked.install;
  if (!install) return none;
  log.note(`sparki: runtime ${install.label}: ${install.version} from ${install.source}, ${install.bin} first on PATH`);
  return { error: null, pathFirst: install.bin, readOnly: [install.root, install.bin], env: { ...host, PATH: `${install.bin}:${host.PATH ?? ""}` } };
}
