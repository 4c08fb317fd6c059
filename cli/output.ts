/** What commands print: JSON for --json, aligned tables otherwise, and a spinner on a TTY. */

/** Prints the API's parsed answer as JSON, one document. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const ANSI = /\x1b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, "").length;

/** Aligned columns with a header row; empty cells show as "-". */
export function formatTable(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => width(r[i] ?? ""))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - width(c))))
      .join("  ")
      .trimEnd();
  return `${[line(headers.map((h) => h.toUpperCase())), ...cells.map(line)].join("\n")}\n`;
}

export function printTable(headers: string[], rows: Array<Array<string | number | null | undefined>>, empty = "nothing yet"): void {
  process.stdout.write(rows.length ? formatTable(headers, rows) : `${empty}\n`);
}

/** Key/value lines for one resource. */
export function printFields(fields: Array<[string, string | number | null | undefined]>): void {
  const w = Math.max(...fields.map(([k]) => k.length));
  process.stdout.write(`${fields.map(([k, v]) => `${k.padEnd(w)}  ${v === null || v === undefined || v === "" ? "-" : v}`).join("\n")}\n`);
}

const colours = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (colours ? `\x1b[${code}m${s}\x1b[0m` : s);

/** A status word, coloured on a terminal. */
export function status(s: string): string {
  if (["succeeded", "healthy"].includes(s)) return paint(32, s);
  if (["failed", "timed_out", "unhealthy", "rolled_back"].includes(s)) return paint(31, s);
  if (["running", "deploying", "verifying", "claimed"].includes(s)) return paint(33, s);
  return s;
}

/** "3 min ago" style times for tables. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function duration(from: string | null | undefined, to: string | null | undefined): string {
  if (!from) return "-";
  const s = Math.round(((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

export interface Spinner {
  text(message: string): void;
  stop(): void;
}

/** A progress line on stderr, only when stderr is a terminal; otherwise it does nothing. */
export function spinner(message: string, stream: NodeJS.WriteStream = process.stderr): Spinner {
  if (!stream.isTTY) return { text: () => undefined, stop: () => undefined };
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let i = 0;
  let current = message;
  const draw = () => stream.write(`\r\x1b[2K${frames[i++ % frames.length]} ${current}`);
  draw();
  const timer = setInterval(draw, 80);
  timer.unref();
  return {
    text: (m) => {
      current = m;
    },
    stop: () => {
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}
