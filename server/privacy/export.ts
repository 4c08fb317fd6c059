/**
 * `GET /v1/me/export` (core/contracts/export.ts), streamed: every list is read a page at a time and
 * written as it comes, so no list is cut however long it is, the Worker holds about one page, and
 * nothing is read faster than the client reads. Each page is one short query of its own, keyset
 * paginated (the rows after the last one written, in the list's unique order: export-lists.ts), and
 * no transaction stays open between pages: a slow or stalled client holds no snapshot, and on the
 * local PGlite, whose one backend serves every connection, it keeps no other request waiting. So the
 * document is not one moment's data: a row added or deleted during the download may or may not
 * appear, but keyset order lists each row that exists throughout exactly once (none twice, none
 * skipped), however pages and writes interleave. A row whose key changes meanwhile (a workspace
 * renamed, a stage rule changed again) counts as one deleted and one added.
 * The stream reads through a connection of its own, opened when the client first reads and closed
 * when the stream ends: the request's is closed once the handler returns, long before a large
 * export has been sent.
 */
import { type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { AccountExport } from "../../core/contracts/export.js";
import type { Connection, Db } from "../db/client.js";
import { userIdentities, users } from "../db/schema.js";
import { type Caller, type ExportList, exportLists, iso } from "./export-lists.js";

/** Rows fetched (and written) at a time: at most a few hundred KiB of audit events. */
export const exportPageSize = 500;

export interface ExportOptions {
  /** Rows per page (tests lower it to cross page boundaries). */
  pageSize?: number;
  /** Told of a failure after the response started (the stream then ends before its closing brace). */
  onError?: (err: unknown) => void;
}

type UserView = AccountExport["user"];

/**
 * The caller's export, or null when the account does not exist (deleted between authentication
 * and now). The account is read with `db` (the request's) before this returns; the lists are read
 * by the stream, through a connection it opens with `connectStream` when the client first reads
 * and closes when the stream ends, fails or is cancelled.
 */
export async function openExport(
  db: Db,
  connectStream: () => Promise<Connection>,
  userId: string,
  now: Date,
  options: ExportOptions = {},
): Promise<ReadableStream<Uint8Array> | null> {
  const pageSize = options.pageSize ?? exportPageSize;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, not ${pageSize}`);
  const opened = await readCaller(db, userId);
  if (!opened) return null;
  return streamOf(documentOf(connectStream, opened.user, opened.caller, now, pageSize), options.onError);
}

async function readCaller(db: Db, userId: string): Promise<{ user: UserView; caller: Caller } | null> {
  const { rows } = await db.execute<UserView>(
    sql`select ${users.id} as id, ${users.email} as email, ${users.name} as name, ${users.emailVerified} as "emailVerified",
      ${iso(users.sessionsRevokedAt)} as "sessionsRevokedAt", ${iso(users.createdAt)} as "createdAt", ${iso(users.updatedAt)} as "updatedAt"
      from ${users} where ${users.id} = ${userId}`,
  );
  const [user] = rows;
  if (!user) return null;
  const identities = await db
    .select({ provider: userIdentities.provider, login: userIdentities.login })
    .from(userIdentities)
    .where(sql`${userIdentities.userId} = ${userId}`);
  const logins = identities.map((i) => `${i.provider}:${i.login.toLowerCase()}`);
  return { user, caller: { id: user.id, email: user.email.toLowerCase(), logins } };
}

/** The JSON document, in pieces of about a page each. */
async function* documentOf(connectStream: () => Promise<Connection>, user: UserView, caller: Caller, now: Date, pageSize: number): AsyncGenerator<string> {
  let pending = `{"exportedAt":${JSON.stringify(now.toISOString())},"user":${JSON.stringify(user)}`;
  const connection = await connectStream();
  try {
    for (const list of exportLists) {
      pending += `,${JSON.stringify(list.name)}:[`;
      let separator = "";
      let after: string[] | null = null;
      for (;;) {
        const { rows } = await connection.db.execute<Record<string, unknown>>(pageQuery(list, caller, after, pageSize));
        const last = rows.at(-1);
        if (last) {
          yield `${pending}${separator}${rows.map((row) => JSON.stringify(list.view(fieldsOf(row), caller))).join(",")}`;
          pending = "";
          separator = ",";
          after = Key.parse(last._after);
        }
        if (rows.length < pageSize) break;
      }
      pending += "]";
    }
    yield `${pending}}`;
  } finally {
    await connection.close();
  }
}

/** A row's key, as text that casts back to each column's type exactly (timestamps to the microsecond). */
const Key = z.array(z.string());

/**
 * One page of a list: its first `size` rows after `after` (the key of the last row written; null
 * for the first page) in the list's order, each with its own key as `_after`.
 */
function pageQuery(list: ExportList, caller: Caller, after: string[] | null, size: number): SQL {
  const { key, descending } = list.order;
  const columns = key.map((name) => sql`page.${sql.identifier(name)}`);
  const direction = sql.raw(descending ? "desc" : "asc");
  // A row comparison, which an index on the key can serve, each page starting where the last ended.
  const rest = after
    ? sql`where (${sql.join(columns, sql`, `)}) ${sql.raw(descending ? "<" : ">")} (${sql.join(
        after.map((value) => sql`${value}`),
        sql`, `,
      )})`
    : sql``;
  return sql`select page.*, array[${sql.join(
    columns.map((column) => sql`${column}::text`),
    sql`, `,
  )}] as "_after" from (${list.query(caller)}) page ${rest}
    order by ${sql.join(
      columns.map((column) => sql`${column} ${direction}`),
      sql`, `,
    )} limit ${size}`;
}

/** A row without its key columns (named `_…`), which are read, not written. */
function fieldsOf(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([name]) => !name.startsWith("_")));
}

/** A byte stream pulling the pieces one at a time: what the client has not read is not yet read from Postgres. */
function streamOf(pieces: AsyncGenerator<string>, onError: ((err: unknown) => void) | undefined): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await pieces.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (err) {
          onError?.(err);
          controller.error(err);
        }
      },
      async cancel() {
        await pieces.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
