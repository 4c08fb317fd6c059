import type { Truth } from "./truth.ts";

/** What one tool answered for one repository, in Sparki's vocabulary. */
export interface Answer {
  framework: string | null;
  build: string | null;
  out: string | null;
}

const norm = (p: string | null) => (p === null ? null : p.replace(/^\.\/(?=.)/, "").replace(/\/+$/, "") || ".");

const SCRIPT_RUNNERS = /^(npm run|pnpm run|pnpm|yarn run|yarn|bun run) build$/;

/** Whether a build command runs what the truth says, given the project's own build script. */
export function buildMatches(truth: Truth["build"], answer: string | null, script: string | null): boolean {
  if (truth === null) return answer === null;
  if (answer === null) return false;
  const a = answer.trim();
  if (truth === "script") return SCRIPT_RUNNERS.test(a) || (script !== null && a === script.trim());
  return truth.test(a);
}

/** Scores one answer: framework, build command and output directory, each right or wrong. */
export function score(truth: Truth, answer: Answer, script: string | null): { framework: boolean; build: boolean; out: boolean } {
  const out = norm(answer.out);
  return {
    framework: answer.framework === truth.framework,
    build: buildMatches(truth.build, answer.build, script),
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
