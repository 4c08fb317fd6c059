import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import { base64url } from "../auth/tokens.js";

/**
 * Keyset cursors over (created_at, id), newest first. The timestamp is Postgres' own text form,
 * in a fixed UTC form with microseconds, so they survive the round trip and no row is skipped or repeated between pages.
 */
const CursorPayload = z.tuple([z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), z.uuid()]);

/** SQL for a row's cursor timestamp: UTC, microseconds, ISO 8601. */
export const cursorTimestampSql = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function encodeCursor(createdAt: string, id: string): string {
  return base64url(new TextEncoder().encode(JSON.stringify([createdAt, id])));
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    const [createdAt, id] = CursorPayload.parse(JSON.parse(new TextDecoder().decode(bytes)));
    return { createdAt, id };
  } catch {
    throw new SparkiError("validation", {
      detail: "The cursor is not one this API issued.",
      errors: [{ pointer: "query.cursor", message: "is not a valid cursor" }],
    });
  }
}

/** Splits a page fetched with limit + 1 rows into items and the next cursor. */
export function toPage<R extends { cursorTs: string; id: string }, V>(rows: R[], limit: number, view: (row: R) => V) {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return { items: pageRows.map(view), nextCursor: more && last ? encodeCursor(last.cursorTs, last.id) : null };
}
