/**
 * Line framing of a byte stream. Lines end at "\n" (the byte, never part of a multi-byte
 * UTF-8 character); everything else, ANSI colour escapes and "\r" included, stays in the text
 * so the log's bytes can be rebuilt exactly. A line longer than the limit is cut where the
 * cut splits neither a UTF-8 character nor an escape sequence.
 */

/** A framed line: `partial` when no newline followed it (a cut, or the stream's end). */
export interface FramedLine {
  text: string;
  partial?: true;
}

/** Bytes of the line not yet ended. */
export interface LineState {
  readonly pending: Uint8Array;
}

export const initialLineState: LineState = { pending: new Uint8Array(0) };

const NEWLINE = 0x0a;
const ESC = 0x1b;
/** Longest escape sequence we keep whole when cutting; longer ones are not plausible SGR. */
const MAX_ESCAPE = 64;

const decoder = new TextDecoder();

/**
 * Where to cut `bytes` (longer than `max`) so the first piece is at most `max` bytes and
 * ends neither inside a UTF-8 character nor inside an ESC sequence (which would break the
 * colour in both halves).
 */
export function safeCut(bytes: Uint8Array, max: number): number {
  let cut = max;
  // Back up over continuation bytes (10xxxxxx) to the start of the character.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  const from = Math.max(0, cut - MAX_ESCAPE);
  for (let i = cut - 1; i >= from; i--) {
    if (bytes[i] !== ESC) continue;
    if (!escapeEndsBefore(bytes, i, cut) && i > 0) cut = i;
    break;
  }
  return cut === 0 ? max : cut;
}

/** Does the escape sequence starting at `start` end before `limit`? (CSI: ESC [ … final 0x40–0x7E) */
function escapeEndsBefore(bytes: Uint8Array, start: number, limit: number): boolean {
  if (start + 1 >= limit) return false;
  if (bytes[start + 1] !== 0x5b) return true; // two-byte escapes (ESC c, ESC 7) end at once
  for (let i = start + 2; i < limit; i++) {
    const b = bytes[i] as number;
    if (b >= 0x40 && b <= 0x7e) return true;
  }
  return false;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Frames the complete lines in `chunk`; keeps the unfinished rest in the returned state. */
export function splitLines(state: LineState, chunk: Uint8Array, maxLineBytes: number): { state: LineState; lines: FramedLine[] } {
  const buf = concat(state.pending, chunk);
  const lastNewline = buf.lastIndexOf(NEWLINE);
  // The common case, every complete line within the limit: one decode for the whole run of
  // lines rather than one per line (a TextDecoder call per line was most of the framing's cost).
  if (lastNewline >= 0 && buf.length - lastNewline - 1 <= maxLineBytes && linesFit(buf, lastNewline, maxLineBytes)) {
    const lines = decoder
      .decode(buf.subarray(0, lastNewline))
      .split("\n")
      .map((text): FramedLine => ({ text }));
    return { state: { pending: buf.slice(lastNewline + 1) }, lines };
  }
  const lines: FramedLine[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(NEWLINE, start);
    const end = nl === -1 ? buf.length : nl;
    // Cut over-long lines, including one still unfinished, so memory stays bounded.
    while (end - start > maxLineBytes) {
      const cut = safeCut(buf.subarray(start, end), maxLineBytes);
      lines.push({ text: decoder.decode(buf.subarray(start, start + cut)), partial: true });
      start += cut;
    }
    if (nl === -1) break;
    lines.push({ text: decoder.decode(buf.subarray(start, nl)) });
    start = nl + 1;
  }
  return { state: { pending: buf.slice(start) }, lines };
}

/** Is every line ending at or before `end` (a newline) at most `max` bytes long? */
function linesFit(buf: Uint8Array, end: number, max: number): boolean {
  // One native indexOf per line: cheap next to decoding each line on its own.
  for (let start = 0; start <= end; ) {
    const nl = buf.indexOf(NEWLINE, start);
    if (nl - start > max) return false;
    start = nl + 1;
  }
  return true;
}

/** End of stream: the unfinished rest, if any, as a partial line. */
export function flushLines(state: LineState): FramedLine[] {
  return state.pending.length === 0 ? [] : [{ text: decoder.decode(state.pending), partial: true }];
}

/** Rebuilds a log's text from its lines: the inverse of framing. */
export function joinLines(lines: readonly FramedLine[]): string {
  let out = "";
  for (const line of lines) out += line.partial ? line.text : `${line.text}\n`;
  return out;
}
