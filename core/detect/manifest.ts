import { parse as parseToml } from "smol-toml";
import type { DirContext } from "./app-builder.ts";

/** A parsed JSON/TOML table. */
export type Table = Record<string, unknown>;

/** Narrows parsed manifest data to a table. */
export function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The string-valued entries of a table (package.json scripts, dependency maps). */
export function stringMap(value: unknown): Record<string, string> {
  if (!isTable(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

/** Walks nested tables by key; undefined when any step is missing. */
export function dig(value: unknown, ...keys: string[]): unknown {
  let cur = value;
  for (const key of keys) {
    if (!isTable(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** Reads a TOML manifest (pyproject.toml, Cargo.toml, Pipfile); null when absent or malformed. */
export async function readToml(ctx: DirContext, name: string): Promise<Table | null> {
  const text = await ctx.read(name);
  if (text === null) return null;
  try {
    return parseToml(text) as Table;
  } catch {
    return null;
  }
}

/** The `web:` process of a Procfile, which Heroku-style apps use as their production start. */
export async function procfileWeb(ctx: DirContext): Promise<string | null> {
  const text = await ctx.read("Procfile");
  const match = text === null ? null : /^web:\s*(.+)$/m.exec(text);
  return match?.[1]?.trim() ?? null;
}
