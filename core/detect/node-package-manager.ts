import type { AppBuilder, DirContext } from "./app-builder.ts";

/** JavaScript package managers. */
export type NodePm = "npm" | "pnpm" | "yarn" | "bun";

/** The package manager chosen for a directory and how to drive it. */
export interface NodePmChoice {
  pm: NodePm;
  /** Yarn only: Berry (2+) rather than classic 1.x. */
  berry: boolean;
  version: string | null;
  /** Repo-relative lockfile path, or null when none is committed. */
  lockfile: string | null;
}

const LOCKFILES: ReadonlyArray<readonly [string, NodePm]> = [
  // Order is the tie-break when several lockfiles exist and no packageManager field decides:
  // stray package-lock.json files are the most common accident (someone ran `npm install`).
  ["bun.lock", "bun"],
  ["bun.lockb", "bun"],
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["package-lock.json", "npm"],
  ["npm-shrinkwrap.json", "npm"],
];

/** Parses `packageManager: "pnpm@9.1.0+sha512..."` (Corepack's field). */
export function parsePackageManagerField(value: unknown): { pm: NodePm; version: string | null } | null {
  if (typeof value !== "string") return null;
  const match = /^(npm|pnpm|yarn|bun)(?:@([^+\s]+))?/.exec(value.trim());
  if (!match?.[1]) return null;
  return { pm: match[1] as NodePm, version: match[2] ?? null };
}

/**
 * Chooses the package manager of the project in `ctx`, recording the evidence.
 *
 * Rule: a committed lockfile wins over a conflicting `packageManager` field,
 * because only the manager that wrote the lockfile can do a frozen, reproducible
 * install from it (and the dependency cache is keyed on it). The field breaks ties
 * between several lockfiles and supplies the version; with neither, npm (Node's
 * bundled manager) is assumed.
 */
export async function choosePackageManager(ctx: DirContext, pkg: Record<string, unknown>, b: AppBuilder): Promise<NodePmChoice> {
  const field = parsePackageManagerField(pkg.packageManager);
  const fieldFile = ctx.path("package.json");
  const locks = LOCKFILES.filter(([name]) => ctx.has(name));
  let lock = locks[0];
  if (locks.length > 1) {
    const byField = field ? locks.find(([, pm]) => pm === field.pm) : undefined;
    lock = byField ?? lock;
    const names = locks.map(([n]) => n).join(", ");
    b.note(
      "packageManager",
      lock ? ctx.path(lock[0]) : null,
      byField
        ? `several lockfiles (${names}); the packageManager field picks ${lock?.[0]}`
        : `several lockfiles (${names}); ${lock?.[0]} wins by precedence bun > pnpm > yarn > npm`,
    );
  }

  let choice: NodePmChoice;
  if (lock) {
    const [lockName, pm] = lock;
    const lockPath = ctx.path(lockName);
    b.note("packageManager", lockPath, `${lockName} is ${pm}'s lockfile`);
    let version: string | null = null;
    if (field && field.pm !== pm) {
      b.note(
        "packageManager",
        fieldFile,
        `packageManager field says ${field.pm} but ${lockName} is committed; the lockfile wins because only ${pm} can install from it reproducibly`,
      );
    } else if (field) {
      version = field.version;
      b.note("packageManager", fieldFile, `packageManager field agrees: ${String(pkg.packageManager)}`);
    }
    choice = { pm, berry: false, version, lockfile: lockPath };
  } else if (field) {
    b.note("packageManager", fieldFile, `packageManager field: ${String(pkg.packageManager)} (no lockfile committed)`);
    choice = { pm: field.pm, berry: false, version: field.version, lockfile: null };
  } else if (ctx.has(".yarnrc.yml")) {
    // Only Yarn Berry reads .yarnrc.yml, so it names the manager even before a lockfile exists.
    choice = { pm: "yarn", berry: true, version: null, lockfile: null };
  } else {
    b.note("packageManager", fieldFile, "no lockfile and no packageManager field; assuming npm, which ships with Node");
    choice = { pm: "npm", berry: false, version: null, lockfile: null };
  }

  if (choice.pm === "yarn") {
    choice = { ...choice, ...(await yarnFlavor(ctx, choice, b)) };
  }
  return choice;
}

/** Tells Yarn classic from Berry: the field's major, else yarn.lock's format, else .yarnrc.yml. */
async function yarnFlavor(ctx: DirContext, choice: NodePmChoice, b: AppBuilder): Promise<Pick<NodePmChoice, "berry" | "version">> {
  if (choice.version) {
    const berry = Number.parseInt(choice.version, 10) >= 2;
    b.note("packageManager", ctx.path("package.json"), `yarn ${choice.version} is ${berry ? "Yarn Berry (2+)" : "Yarn classic"}`);
    return { berry, version: choice.version };
  }
  const lock = choice.lockfile ? await ctx.index.read(choice.lockfile) : null;
  if (lock !== null) {
    // Berry lockfiles are YAML with a __metadata block; classic ones start with this banner.
    if (/^__metadata:/m.test(lock)) {
      b.note("packageManager", choice.lockfile, "yarn.lock has a __metadata block: Yarn Berry (2+) format");
      return { berry: true, version: ">=2" };
    }
    if (lock.includes("# yarn lockfile v1")) {
      b.note("packageManager", choice.lockfile, 'yarn.lock starts with "# yarn lockfile v1": Yarn classic');
      return { berry: false, version: "1.x" };
    }
  }
  if (ctx.has(".yarnrc.yml")) {
    b.note("packageManager", ctx.path(".yarnrc.yml"), ".yarnrc.yml is Yarn Berry's config file");
    return { berry: true, version: ">=2" };
  }
  return { berry: false, version: "1.x" };
}

/** How to install, run a script and run a package binary with one package manager. */
export interface ScriptRunner {
  install: string;
  run(script: string): string;
  exec(command: string): string;
}

/** Commands in the package manager's own syntax; frozen installs only when a lockfile exists. */
export function pmRunner(choice: NodePmChoice): ScriptRunner {
  const locked = choice.lockfile !== null;
  switch (choice.pm) {
    case "npm":
      return { install: locked ? "npm ci" : "npm install", run: (s) => `npm run ${s}`, exec: (c) => `npx ${c}` };
    case "pnpm":
      return {
        install: locked ? "pnpm install --frozen-lockfile" : "pnpm install",
        run: (s) => `pnpm run ${s}`,
        exec: (c) => `pnpm exec ${c}`,
      };
    case "yarn": {
      const frozen = choice.berry ? "yarn install --immutable" : "yarn install --frozen-lockfile";
      return { install: locked ? frozen : "yarn install", run: (s) => `yarn ${s}`, exec: (c) => `yarn ${c}` };
    }
    case "bun":
      return {
        install: locked ? "bun install --frozen-lockfile" : "bun install",
        run: (s) => `bun run ${s}`,
        exec: (c) => `bunx ${c}`,
      };
    default: {
      const never: never = choice.pm;
      throw new Error(`unknown package manager ${String(never)}`);
    }
  }
}
