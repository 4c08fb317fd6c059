import type { ViewerLogLine } from "../../core/contracts/logs.ts";

/**
 * A build's log for the viewer: lines kept as strings (a partial line is joined with what follows
 * it), read a window at a time so a million lines cost one slice per frame.
 */
export class LogBuffer {
  readonly lines: string[] = [];
  #open = false;

  append(batch: readonly Pick<ViewerLogLine, "text" | "partial">[]): void {
    for (const l of batch) {
      if (this.#open) this.lines[this.lines.length - 1] += l.text;
      else this.lines.push(l.text);
      this.#open = l.partial === true;
    }
  }

  get length(): number {
    return this.lines.length;
  }

  /** The lines [top, top + height). */
  window(top: number, height: number): string[] {
    return this.lines.slice(Math.max(0, top), Math.max(0, top) + height);
  }
}

/** Clamps a scroll position: 0 … length - height. */
export function clampTop(top: number, length: number, height: number): number {
  return Math.max(0, Math.min(top, length - height));
}
