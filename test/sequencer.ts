/**
 * Starts the longest test files first, across both projects. Vitest's own order runs every `node`
 * file before any `workers` file and, on a fresh clone (no timing cache), larger files first; the
 * route sweeps (small files, the longest runs) then started last and ran alone at the end of the
 * suite. With the long files first, the short ones fill the gaps on the two workers.
 *
 * The costs are seconds a full run on this 2-core machine took (test/file-seconds.json, written by
 * test/record-file-seconds.ts from vitest's own timings); a file not listed keeps vitest's order
 * after them. Once vitest has its own timings (a second run in the same checkout), those win.
 */
import { readFileSync } from "node:fs";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const measuredSeconds: Record<string, number> = JSON.parse(readFileSync(new URL("./file-seconds.json", import.meta.url), "utf8"));

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const vitestOrder = await super.sort(files);
    const position = new Map(vitestOrder.map((spec, i) => [spec, i]));
    const cost = (spec: TestSpecification) => {
      const key = `${spec.project.name}:${spec.moduleId.slice(spec.project.config.root.length + 1)}`;
      const cached = this.ctx.cache.getFileTestResults(key);
      return cached ? cached.duration / 1000 : (measuredSeconds[key] ?? 0);
    };
    return [...vitestOrder].sort((a, b) => cost(b) - cost(a) || (position.get(a) ?? 0) - (position.get(b) ?? 0));
  }
}
