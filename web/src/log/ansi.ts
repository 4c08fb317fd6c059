/**
 * ANSI SGR escape sequences to styled segments, for the log viewer. Only what build logs use:
 * bold, dim, italic, underline, inverse, the 16 colours (as classes, so the theme keeps them
 * readable), 256 colours and true colour (as inline styles). Every other escape sequence
 * (cursor moves, OSC titles and links) is dropped; a carriage return keeps what follows it,
 * as a terminal would show a progress bar's last state.
 */
export interface Segment {
  text: string;
  /** Space-separated classes: `b`, `d`, `i`, `u`, `fg1`…`fg15`, `bg0`…`bg15`. */
  cls: string;
  /** Inline colours for 256-colour and true-colour codes. */
  fg?: string;
  bg?: string;
}

interface Pen {
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
  fg: number | string | null;
  bg: number | string | null;
}

const blank = (): Pen => ({ bold: false, dim: false, italic: false, underline: false, inverse: false, fg: null, bg: null });

// CSI (ESC [ params final), OSC (ESC ] … BEL or ESC \), and lone two-character escapes.
const escapes = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;

/** The text of a line with every escape sequence removed (for search). */
export function plainText(line: string): string {
  const text = line.includes("\r") ? afterCarriageReturn(line) : line;
  return text.includes("\x1b") ? text.replace(escapes, "") : text;
}

function afterCarriageReturn(line: string): string {
  const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
  return trimmed.slice(trimmed.lastIndexOf("\r") + 1);
}

function cube(n: number): string {
  if (n < 232) {
    const c = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(c / 36))},${level(Math.floor(c / 6) % 6)},${level(c % 6)})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey},${grey},${grey})`;
}

/** Reads an extended colour (`5;n` or `2;r;g;b`) starting at codes[i]; returns it and the next index. */
function extended(codes: number[], i: number): [number | string | null, number] {
  if (codes[i] === 5) {
    const n = codes[i + 1] ?? 0;
    return [n < 16 ? n : cube(Math.min(n, 255)), i + 2];
  }
  if (codes[i] === 2) return [`rgb(${codes[i + 1] ?? 0},${codes[i + 2] ?? 0},${codes[i + 3] ?? 0})`, i + 4];
  return [null, i + 1];
}

function apply(pen: Pen, params: string): void {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  for (let i = 0; i < codes.length; ) {
    const c = codes[i++] ?? 0;
    if (c === 0) Object.assign(pen, blank());
    else if (c === 1) pen.bold = true;
    else if (c === 2) pen.dim = true;
    else if (c === 3) pen.italic = true;
    else if (c === 4) pen.underline = true;
    else if (c === 7) pen.inverse = true;
    else if (c === 22) pen.bold = pen.dim = false;
    else if (c === 23) pen.italic = false;
    else if (c === 24) pen.underline = false;
    else if (c === 27) pen.inverse = false;
    else if (c >= 30 && c <= 37) pen.fg = c - 30;
    else if (c >= 90 && c <= 97) pen.fg = c - 90 + 8;
    else if (c >= 40 && c <= 47) pen.bg = c - 40;
    else if (c >= 100 && c <= 107) pen.bg = c - 100 + 8;
    else if (c === 39) pen.fg = null;
    else if (c === 49) pen.bg = null;
    else if (c === 38 || c === 48) {
      const [colour, next] = extended(codes, i);
      if (c === 38) pen.fg = colour;
      else pen.bg = colour;
      i = next;
    }
  }
}

function segment(text: string, pen: Pen): Segment {
  const fg = pen.inverse ? (pen.bg ?? "inv-fg") : pen.fg;
  const bg = pen.inverse ? (pen.fg ?? "inv-bg") : pen.bg;
  const cls: string[] = [];
  if (pen.bold) cls.push("b");
  if (pen.dim) cls.push("d");
  if (pen.italic) cls.push("i");
  if (pen.underline) cls.push("u");
  const seg: Segment = { text, cls: "" };
  if (typeof fg === "number") cls.push(`fg${fg}`);
  else if (fg === "inv-fg") cls.push("fgbg");
  else if (fg !== null) seg.fg = fg;
  if (typeof bg === "number") cls.push(`bg${bg}`);
  else if (bg === "inv-bg") cls.push("bgfg");
  else if (bg !== null) seg.bg = bg;
  seg.cls = cls.join(" ");
  return seg;
}

/** Splits one log line into styled segments; colours do not carry over from one line to the next. */
export function parseAnsi(line: string): Segment[] {
  const text = line.includes("\r") ? afterCarriageReturn(line) : line;
  if (!text.includes("\x1b")) return [{ text, cls: "" }];
  const pen = blank();
  const out: Segment[] = [];
  let last = 0;
  escapes.lastIndex = 0;
  for (let m = escapes.exec(text); m !== null; m = escapes.exec(text)) {
    if (m.index > last) out.push(segment(text.slice(last, m.index), pen));
    if (m[2] === "m") apply(pen, m[1] ?? "");
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(segment(text.slice(last), pen));
  return out;
}
