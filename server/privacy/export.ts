/**
 * `GET /v1/me/export` (core/contracts/export.ts), streamed: every list is read through a Postgres
 * cursor a page at a time and written as it comes, so no list is cut however long it is and the
 * Worker holds about one page. The lists are read in one read-only, repeatable-read transaction:
 * the document is one moment's data, and Postgres scans each table once rather than once a page.
 * The stream owns its connection: the request's is closed once the handler returns, long before a
 * large export has been sent.
 */
import { sql } from "drizzle-orm";
import type { AccountExport } from "../../core/contracts/export.js";
import type { Connection, Db } from "../db/client.js";
import { userIdentities, users } from "../db/schema.js";
import { type Caller, exportLists, iso } from "./export-lists.js";

/** Rows fetched (and written) at a time: at most a few hundred KiB of audit events. */
export const exportPageSize = 500;

/**
 * A client that stops reading leaves the transaction idle; Postgres ends it after this long, which
 * ends the download part way rather than holding a snapshot open for as long as the socket lives.
 */
const idleLimit = "60s";

export interface ExportOptions {
  /** Rows per fetch (tests lower it to cross page boundaries). */
  pageSize?: number;
  /** Told of a failure after the response started (the stream then ends before its closing brace). */
  onError?: (err: unknown) => void;
}

type UserView = AccountExport["user"];

/**
 * Opens the caller's export on `connection`, which it then owns and closes when the stream ends,
 * fails or is cancelled. Null (connection closed) when the account does not exist (deleted between
 * authentication and now).
 */
export async function openExport(connection: Connection, userId: string, now: Date, options: ExportOptions = {}): Promise<ReadableStream<Uint8Array> | null> {
  const pageSize = options.pageSize ?? exportPageSize;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, not ${pageSize}`);
  const { db } = connection;
  let opened: { user: UserView; caller: Caller } | null;
  try {
    await db.execute(sql`begin isolation level repeatable read, read only`);
    await db.execute(sql.raw(`set local idle_in_transaction_session_timeout = '${idleLimit}'`));
    opened = await readCaller(db, userId);
  } catch (err) {
    await connection.close();
    throw err;
  }
  if (!opened) {
    await connection.close();
    return null;
  }
  return streamOf(documentOf(connection, opened.user, opened.caller, now, pageSize), options.onError);
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

/** The JSON document, in pieces of about a page each; commits and closes the connection at its end. */
async function* documentOf(connection: Connection, user: UserView, caller: Caller, now: Date, pageSize: number): AsyncGenerator<string> {
  const { db } = connection;
  try {
    let pending = `{"exportedAt":${JSON.stringify(now.toISOString())},"user":${JSON.stringify(user)}`;
    for (const list of exportLists) {
      pending += `,${JSON.stringify(list.name)}:[`;
      await db.execute(sql`declare export_rows no scroll cursor for ${list.query(caller)}`);
      let separator = "";
      for (;;) {
        const { rows } = await db.execute<Record<string, unknown>>(sql.raw(`fetch forward ${pageSize} from export_rows`));
        if (rows.length > 0) {
          yield `${pending}${separator}${rows.map((row) => JSON.stringify(list.view(row, caller))).join(",")}`;
          pending = "";
          separator = ",";
        }
        if (rows.length < pageSize) break;
      }
      await db.execute(sql`close export_rows`);
      pending += "]";
    }
    await db.execute(sql`commit`);
    yield `${pending}}`;
  } finally {
    await connection.close();
  }
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
