/**
 * Secret masking over a byte stream. A secret can arrive split across two chunks of a
 * child's output, so the masker keeps a carry of the last (longest secret − 1) bytes that
 * might still be the start of a secret, and emits them only once the next chunk (or the end
 * of the stream) decides. Working on bytes rather than lines also masks multi-line secrets
 * (PEM keys) and runs before line framing, so no frame ever holds a piece of a secret.
 * Each secret is matched in all its printable forms (see ./secret-forms.ts).
 */
import { secretForms } from "./secret-forms.ts";

/** What a secret is replaced with. */
export const MASK = "***";
const MASK_BYTES = new TextEncoder().encode(MASK);

/** Secrets prepared for matching; build once per job with {@link createMasker}. */
export interface Masker {
  /** Patterns by first byte, longest first, so the longest secret wins at a position. */
  readonly byFirstByte: ReadonlyMap<number, readonly Uint8Array[]>;
  /** Bytes held back between chunks: the longest secret's length − 1. */
  readonly carryBytes: number;
  /** The same patterns as text, for a cheap check before a whole string is scanned. */
  readonly texts: readonly string[];
}

/** The stream's state between chunks: bytes that may begin a secret. */
export interface MaskState {
  readonly carry: Uint8Array;
}

export const initialMaskState: MaskState = { carry: new Uint8Array(0) };

/**
 * Prepares the UTF-8 bytes of every form of every secret (raw, base64, URL-encoded,
 * JSON-escaped); empty secrets are ignored (they would match everywhere).
 */
export function createMasker(secrets: readonly string[]): Masker {
  const encoder = new TextEncoder();
  const texts = [...new Set(secrets.flatMap(secretForms))];
  const unique = texts.map((s) => encoder.encode(s));
  unique.sort((a, b) => b.length - a.length);
  const byFirstByte = new Map<number, Uint8Array[]>();
  for (const pattern of unique) {
    const first = pattern[0] as number;
    const list = byFirstByte.get(first) ?? [];
    list.push(pattern);
    byFirstByte.set(first, list);
  }
  const longest = unique[0]?.length ?? 0;
  return { byFirstByte, carryBytes: Math.max(0, longest - 1), texts };
}

function matchesAt(buf: Uint8Array, at: number, pattern: Uint8Array): boolean {
  if (at + pattern.length > buf.length) return false;
  for (let j = 1; j < pattern.length; j++) if (buf[at + j] !== pattern[j]) return false;
  return true;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Masks `buf` up to `decideBefore`: every position before it either starts a secret (masked
 * whole, even when the secret extends past it) or is emitted. Returns the output and where
 * the undecided rest begins.
 */
function scan(masker: Masker, buf: Uint8Array, decideBefore: number): { out: Uint8Array; rest: number } {
  const parts: Uint8Array[] = [];
  let emittedTo = 0;
  let i = 0;
  while (i < decideBefore) {
    const candidates = masker.byFirstByte.get(buf[i] as number);
    const hit = candidates?.find((p) => matchesAt(buf, i, p));
    if (hit) {
      parts.push(buf.subarray(emittedTo, i), MASK_BYTES);
      i += hit.length;
      emittedTo = i;
    } else {
      i++;
    }
  }
  parts.push(buf.subarray(emittedTo, i));
  return { out: concat(parts), rest: i };
}

/** Masks one chunk; returns the bytes safe to emit now and the carry for the next chunk. */
export function maskChunk(masker: Masker, state: MaskState, chunk: Uint8Array): { state: MaskState; output: Uint8Array } {
  if (masker.carryBytes === 0 && masker.byFirstByte.size === 0) return { state, output: chunk };
  const buf = state.carry.length === 0 ? chunk : concat([state.carry, chunk]);
  // A secret starting before this point fits entirely in `buf`, so it can be decided now.
  const decideBefore = Math.max(0, buf.length - masker.carryBytes);
  const { out, rest } = scan(masker, buf, decideBefore);
  return { state: { carry: buf.slice(rest) }, output: out };
}

/** End of stream: the carry cannot hold a whole secret any more, so it is emitted (masked). */
export function maskFlush(masker: Masker, state: MaskState): Uint8Array {
  return scan(masker, state.carry, state.carry.length).out;
}

/** Masks a whole string at once (a second pass on lines that already left a runner). */
export function maskText(masker: Masker, text: string): string {
  // Most lines hold no secret: a substring search is far cheaper than encoding and scanning.
  if (!masker.texts.some((t) => text.includes(t))) return text;
  const bytes = new TextEncoder().encode(text);
  return new TextDecoder().decode(scan(masker, bytes, bytes.length).out);
}
