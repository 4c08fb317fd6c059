/**
 * The forms a secret takes when a step re-encodes it before printing: base64 (standard and
 * URL-safe, at each of the three byte alignments it can have inside a longer encoded string),
 * URL encoding and JSON string escaping. Masking every form stops `echo $TOKEN | base64` or a
 * JSON dump of the environment from printing the secret in clear, as GitHub Actions does.
 */

/**
 * The shortest value accepted as a secret: masking a shorter one would blank out ordinary text
 * all over the log. The API and the CLI refuse shorter values.
 */
export const minSecretLength = 4;

/** Derived forms shorter than this would blank out ordinary text; the raw value is always kept. */
const minFormLength = 4;

/**
 * The base64 characters fully determined by `bytes` when they start `shift` bytes (0, 1 or 2)
 * into a 3-byte group: characters that mix in bits of the bytes before or after are dropped, so
 * the form matches whatever surrounds the secret in the encoded string.
 */
export function base64Core(bytes: Uint8Array, shift: 0 | 1 | 2): string {
  const padded = new Uint8Array(shift + bytes.length + 2);
  padded.set(bytes, shift);
  const whole = padded.subarray(0, padded.length - (padded.length % 3));
  let binary = "";
  for (const b of whole) binary += String.fromCharCode(b);
  const encoded = btoa(binary);
  const first = Math.ceil((8 * shift) / 6);
  const end = Math.floor((8 * (shift + bytes.length)) / 6);
  return encoded.slice(first, end);
}

const urlSafe = (b64: string) => b64.replaceAll("+", "-").replaceAll("/", "_");

/** Every form of `value` to mask, the value itself first; duplicates and too-short forms removed. */
export function secretForms(value: string): string[] {
  if (value.length === 0) return [];
  const bytes = new TextEncoder().encode(value);
  const forms = new Set<string>([value]);
  const derived: string[] = [JSON.stringify(value).slice(1, -1), encodeURIComponent(value), encodeURIComponent(value).replaceAll("%20", "+")];
  for (const shift of [0, 1, 2] as const) {
    const core = base64Core(bytes, shift);
    derived.push(core, urlSafe(core));
  }
  for (const form of derived) if (form.length >= minFormLength) forms.add(form);
  return [...forms];
}
