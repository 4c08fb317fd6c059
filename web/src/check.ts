/**
 * Runtime checks for what the API answers, in a few hundred bytes: zod itself would add about
 * 95 KiB gzip to the dashboard (measured), so the browser checks shapes with these guards, and
 * their inferred types are held against the zod contracts in core/contracts at compile time
 * (see api.ts), so the two cannot drift silently.
 */
export type Check<T> = (value: unknown, path: string) => T;

/** Thrown when an answer does not have the shape the contract promises. */
export class ShapeError extends Error {
  override name = "ShapeError";
}

function fail(path: string, want: string, value: unknown): never {
  throw new ShapeError(`${path || "answer"}: expected ${want}, got ${value === null ? "null" : typeof value}`);
}

export const str: Check<string> = (v, p) => (typeof v === "string" ? v : fail(p, "a string", v));
export const num: Check<number> = (v, p) => (typeof v === "number" && Number.isFinite(v) ? v : fail(p, "a number", v));
export const bool: Check<boolean> = (v, p) => (typeof v === "boolean" ? v : fail(p, "a boolean", v));
export const unknown: Check<unknown> = (v) => v;

export function oneOf<const T extends readonly string[]>(values: T): Check<T[number]> {
  return (v, p) => (typeof v === "string" && values.includes(v) ? (v as T[number]) : fail(p, `one of ${values.join("|")}`, v));
}

export function nullable<T>(inner: Check<T>): Check<T | null> {
  return (v, p) => (v === null ? null : inner(v, p));
}

export function optional<T>(inner: Check<T>): Check<T | undefined> {
  return (v, p) => (v === undefined ? undefined : inner(v, p));
}

export function arr<T>(item: Check<T>): Check<T[]> {
  return (v, p) => (Array.isArray(v) ? v.map((x, i) => item(x, `${p}[${i}]`)) : fail(p, "an array", v));
}

export function record<T>(item: Check<T>): Check<Record<string, T>> {
  return (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(p, "an object", v);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) out[k] = item(x, `${p}.${k}`);
    return out;
  };
}

type Shape = Record<string, Check<unknown>>;
type Flat<T> = { [K in keyof T]: T[K] };
// A field whose check may yield undefined is an optional property, as zod's `.optional()` is.
type Out<S extends Shape> = Flat<
  { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
    [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: ReturnType<S[K]>;
  }
>;

/**
 * An object with these fields (others are kept as they are: the API may add fields). The
 * object itself is returned when every field checks out unchanged, as almost always: no copy
 * per log line.
 */
export function obj<S extends Shape>(shape: S): Check<Out<S>> {
  return (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(p, "an object", v);
    const input = v as Record<string, unknown>;
    let out = input;
    for (const key in shape) {
      const check = shape[key] as Check<unknown>;
      const value = check(input[key], `${p}.${key}`);
      if (value !== input[key]) {
        if (out === input) out = { ...input };
        out[key] = value;
      }
    }
    return out as Out<S>;
  };
}

/** A discriminated union on `type`. */
export function union<T>(cases: Record<string, Check<T>>): Check<T> {
  return (v, p) => {
    const type = typeof v === "object" && v !== null ? (v as { type?: unknown }).type : undefined;
    const check = typeof type === "string" ? cases[type] : undefined;
    return check ? check(v, p) : fail(`${p}.type`, Object.keys(cases).join("|"), type);
  };
}

export const literalTrue: Check<true> = (v, p) => (v === true ? true : fail(p, "true", v));
