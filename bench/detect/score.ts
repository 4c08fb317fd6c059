import type { Truth } from "./truth.ts";

/** What one tool answered for one repository, in Sparki's vocabulary. */
export interface Answer {
  framework: string | null;
  build: string | null;
  /** The test command; null when the tool has none (the peers never give one). */
  test: string | null;
  out: string | null;
}

/** The project's own package.json scripts that a "script" truth refers to. */
export interface Scripts {
  build: string | null;
  test: string | null;
}

const norm = (p: string | null) => (p === null ? null : p.replace(/^\.\/(?=.)/, "").replace(/\/+$/, "") || ".");

const scriptRunners = (name: string) => new RegExp(`^(npm run|npm|pnpm run|pnpm|yarn run|yarn|bun run) ${name}$`);
const SCRIPT_RUNNERS = { build: scriptRunners("build"), test: scriptRunners("test") } as const;

/** Whether a command runs what the truth says, given the project's own script of that name. */
function commandMatches(kind: keyof Scripts, truth: Truth["build"], answer: string | null, script: string | null): boolean {
  if (truth === null) return answer === null;
  if (answer === null) return false;
  const a = answer.trim();
  if (truth === "script") return SCRIPT_RUNNERS[kind].test(a) || (script !== null && a === script.trim());
  return truth.test(a);
}

/** Whether a build command runs what the truth says, given the project's own build script. */
export function buildMatches(truth: Truth["build"], answer: string | null, script: string | null): boolean {
  return commandMatches("build", truth, answer, script);
}

/** One answer scored: each field right or wrong; `test` is null where the truth has no test. */
export interface Score {
  framework: boolean;
  build: boolean;
  test: boolean | null;
  out: boolean;
}

/** Scores one answer: framework, build and test commands, and output directory. */
export function score(truth: Truth, answer: Answer, scripts: Scripts | string | null): Score {
  const s: Scripts = typeof scripts === "string" || scripts === null ? { build: scripts, test: null } : scripts;
  const out = norm(answer.out);
  return {
    framework: answer.framework === truth.framework,
    build: buildMatches(truth.build, answer.build, s.build),
    test: truth.test === undefined ? null : commandMatches("test", truth.test, answer.test, s.test),
    out: truth.out === null ? out === null : out !== null && truth.out.includes(out),
  };
}

/** The q-quantile (0..1) of samples, nearest-rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}
