/**
 * The local stack's last lines (wrangler's warnings and errors: the stack runs it at
 * --log-level warn), kept so that a benchmark whose stack does not start says why, e.g. that the
 * Worker entry does not export a Durable Object class wrangler.toml binds, rather than only that
 * the API did not become healthy.
 */
export function stackLog(limit = 40): { log: (line: string) => void; explain: (err: unknown) => Error } {
  const lines: string[] = [];
  return {
    log(line) {
      lines.push(line);
      if (lines.length > limit) lines.shift();
    },
    explain(err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (lines.length > 0) error.message += `\nthe stack's last lines:\n${lines.map((l) => `  ${l}`).join("\n")}`;
      return error;
    },
  };
}
