/** Where one step's output goes: the runner's log stream to the server, or `sparki run`'s terminal. */
export interface OutputSink {
  /** Returns false when the producer should pause. */
  write(chunk: Uint8Array): boolean;
  /** Calls `fn` once when the producer may write again. */
  onDrain(fn: () => void): void;
  /** A whole line from the runner itself (masked like the rest). */
  note(text: string): void;
  /** End of this output: flushes the held-back bytes as a last (partial) line. */
  end(): void;
}
