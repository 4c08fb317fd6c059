/**
 * A build's log in memory, compactly: one string per line and a step number per line in a
 * typed array, never DOM. A million lines cost their text plus 4 bytes each. Lines arrive in
 * `seq` order; a partial line (no newline yet) is finished by that job's next line.
 */
import type { LogLine } from "../contracts.ts";
import { plainText } from "./ansi.ts";

export interface StepMark {
  jobId: string;
  step: string;
  /** Index of the step's first line. */
  first: number;
}

export class LogStore {
  readonly texts: string[] = [];
  private stepOf = new Uint32Array(1024);
  readonly steps: StepMark[] = [];
  private readonly stepIndex = new Map<string, number>();
  /** Per job, the index of its line still waiting for the rest of its text. */
  private readonly open = new Map<string, number>();
  /** The highest seq stored: a reconnect resumes from the next one. */
  lastSeq = 0;
  /** Bumped on every change, so a view knows to draw again. */
  version = 0;

  get length(): number {
    return this.texts.length;
  }

  /** Adds lines in seq order; a seq already stored (a replay after a reconnect) is skipped. */
  append(lines: readonly LogLine[]): void {
    for (const line of lines) {
      if (line.seq <= this.lastSeq) continue;
      this.lastSeq = line.seq;
      const pending = this.open.get(line.jobId);
      if (pending !== undefined) {
        this.texts[pending] += line.text;
        if (!line.partial) this.open.delete(line.jobId);
        continue;
      }
      const index = this.texts.length;
      this.texts.push(line.text);
      if (index >= this.stepOf.length) {
        const grown = new Uint32Array(this.stepOf.length * 2);
        grown.set(this.stepOf);
        this.stepOf = grown;
      }
      this.stepOf[index] = this.stepNumber(line.jobId, line.step, index);
      if (line.partial) this.open.set(line.jobId, index);
    }
    this.version++;
  }

  private stepNumber(jobId: string, step: string, index: number): number {
    const key = `${jobId}\u0000${step}`;
    let n = this.stepIndex.get(key);
    if (n === undefined) {
      n = this.steps.length;
      this.steps.push({ jobId, step, first: index });
      this.stepIndex.set(key, n);
    }
    return n;
  }

  /** The step a line belongs to. */
  stepAt(index: number): StepMark | undefined {
    return index < this.texts.length ? this.steps[this.stepOf[index] ?? 0] : undefined;
  }

  /** Index of a step's first line, if it has printed anything yet. */
  firstLineOf(jobId: string, step: string): number | undefined {
    const n = this.stepIndex.get(`${jobId}\u0000${step}`);
    return n === undefined ? undefined : this.steps[n]?.first;
  }

  /**
   * The next line (after `from`, wrapping round; or before it when `backwards`) whose text,
   * colours removed, contains `query` ignoring case; -1 when none does.
   */
  find(query: string, from: number, backwards = false): number {
    const n = this.texts.length;
    if (query === "" || n === 0) return -1;
    // One case-insensitive pattern, tested in place: no lower-cased copy of every line.
    const needle = new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
    for (let k = 1; k <= n; k++) {
      const i = (((backwards ? from - k : from + k) % n) + n) % n;
      const text = this.texts[i] ?? "";
      // The raw text first; colours only matter when the query spans an escape sequence.
      if (needle.test(text) || (text.includes("\x1b") && needle.test(plainText(text)))) return i;
    }
    return -1;
  }
}
