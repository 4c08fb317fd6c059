/**
 * Runs the `workers` files first, one after another on each slot, then the longest files first.
 *
 * A slot that changes project starts a new test worker: for `workers`, a new runtime that imports
 * the Worker's module graph again (3–4 s a file on this machine). Mixed with `node` files, about
 * half of the workers files paid that: 167 s of a pass's 192 s of import time. Run as one block they pay it
 * once per slot. After them, the longest files start first, so the short ones fill the gaps on
 * the two slots instead of one long file running alone at the end.
 *
 * The costs are seconds a full run on this 2-core machine took (test/file-seconds.json, written by
 * test/record-file-seconds.ts from vitest's own timings); a file not listed keeps vitest's order
 * after them. Once vitest has its own timings (a second run in the same checkout), those win.
 */
import { readFileSync } from "node:fs";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const measuredSeconds: Record<string, number> = JSON.parse(readFileSync(new URL("./file-seconds.json", import.meta.url), "utf8"));

export class WorkersThenLongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const vitestOrder = await super.sort(files);
    const position = new Map(vitestOrder.map((spec, i) => [spec, i]));
    const cost = (spec: TestSpecification) => {
      const key = `${spec.project.name}:${spec.moduleId.slice(spec.project.config.root.length + 1)}`;
      const cached = this.ctx.cache.getFileTestResults(key);
      return cached ? cached.duration / 1000 : (measuredSeconds[key] ?? 0);
    };
    const block = (spec: TestSpecification) => (spec.project.name === "workers" ? 0 : 1);
    return [...vitestOrder].sort((a, b) => block(a) - block(b) || cost(b) - cost(a) || (position.get(a) ?? 0) - (position.get(b) ?? 0));
  }
}
