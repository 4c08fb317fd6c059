/**
 * Sparki's detector on the real-repository corpus (real.ts), judged by the hand-written truth:
 * framework, build command, test command and output directory. Reads the trimmed snapshots
 * from disk; skipped, and says so, where they are not on this machine.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { REAL_REPOS, realCorpusDir } from "./real.ts";
import { score } from "./score.ts";
import { scriptsAt, sparki } from "./tools.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = realCorpusDir(ROOT);

/** Repositories Sparki is known to get wrong, with the field; an entry here is a debt, not a pass. */
const KNOWN_MISSES: Readonly<Record<string, readonly string[]>> = {};

describe.skipIf(dir === null)(`real repositories (${dir ?? "snapshots not found: set SPARKI_DETECT_REAL"})`, () => {
  it("has a snapshot for every entry, each with its source pinned", () => {
    const names = REAL_REPOS.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(REAL_REPOS.length).toBeGreaterThanOrEqual(30);
    for (const r of REAL_REPOS) expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it("detects framework, build, test and output directory as the truth says", async () => {
    const misses: string[] = [];
    for (const repo of REAL_REPOS) {
      const at = join(dir ?? "", repo.name, "repo");
      const answer = await sparki.detect(at);
      const s = score(repo.truth, answer, await scriptsAt(at));
      const wrong = (["framework", "build", "test", "out"] as const).filter((k) => s[k] === false);
      const known = KNOWN_MISSES[repo.name] ?? [];
      const unexpected = wrong.filter((k) => !known.includes(k));
      if (unexpected.length > 0) misses.push(`${repo.name}: ${unexpected.map((k) => `${k}=${JSON.stringify(answer[k])}`).join(" ")}`);
    }
    expect(misses).toEqual([]);
  });
});
