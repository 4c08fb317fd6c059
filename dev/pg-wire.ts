/**
 * Just enough of the PostgreSQL v3 wire protocol for the local dev servers: framing of frontend
 * messages, the few backend messages the servers write themselves, and the statement/portal
 * renaming that keeps connections sharing one PGlite backend apart.
 * Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

/** Request codes carried by untyped startup-phase messages (length, int32 code, …). */
export const PROTOCOL_3 = 0x0003_0000;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** A typed frontend message: its type byte and the whole message (type byte included). */
export interface FrontendMessage {
  type: string;
  bytes: Buffer;
}

/**
 * Every frontend message type of protocol 3.0. PGlite answers any other type with a FATAL error,
 * which in WebAssembly means exiting the whole Node process; so nothing else may reach it.
 */
export const FRONTEND_TYPES = new Set(["B", "C", "d", "c", "f", "D", "E", "H", "F", "P", "p", "Q", "S", "X"]);

/** The message types after which a real backend flushes its output, so a batch may end there. */
export const BATCH_END_TYPES = new Set(["S", "Q", "H", "F", "d", "c", "f"]);

/** Largest message accepted; anything bigger is a broken or hostile client, not a query. */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/** Raised for bytes that cannot be a valid frontend stream; the connection must be dropped. */
export class ProtocolError extends Error {}

/**
 * Splits complete typed messages off the front of `buf`.
 * Returns them and the unconsumed tail (an incomplete message, possibly empty).
 */
export function splitMessages(buf: Buffer): { messages: FrontendMessage[]; rest: Buffer } {
  const messages: FrontendMessage[] = [];
  let offset = 0;
  while (buf.length - offset >= 5) {
    const len = buf.readInt32BE(offset + 1);
    if (len < 4 || len > MAX_MESSAGE_BYTES) throw new ProtocolError(`invalid message length ${len}`);
    if (buf.length - offset < 1 + len) break;
    messages.push({ type: String.fromCharCode(buf.readUInt8(offset)), bytes: buf.subarray(offset, offset + 1 + len) });
    offset += 1 + len;
  }
  return { messages, rest: buf.subarray(offset) };
}

/** An untyped startup-phase message: its request code and, for a StartupMessage, its parameters. */
export interface StartupPacket {
  code: number;
  length: number;
  params: Record<string, string>;
}

/** Reads one untyped startup-phase message from the front of `buf`, or null when incomplete. */
export function readStartupPacket(buf: Buffer): StartupPacket | null {
  if (buf.length < 8) return null;
  const length = buf.readInt32BE(0);
  // 10 kB is the limit real Postgres applies to startup packets.
  if (length < 8 || length > 10_000) throw new ProtocolError(`invalid startup packet length ${length}`);
  if (buf.length < length) return null;
  const code = buf.readInt32BE(4);
  const params: Record<string, string> = {};
  if (code >> 16 === 3) {
    const parts = buf.subarray(8, length).toString("utf8").split("\0");
    for (let i = 0; i + 1 < parts.length && parts[i] !== ""; i += 2) params[parts[i] ?? ""] = parts[i + 1] ?? "";
  }
  return { code, length, params };
}

/** Builds a typed backend or frontend message from its type byte and body. */
export function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, "utf8");

/** A simple Query message. */
export const queryMessage = (sql: string): Buffer => message("Q", cstr(sql));
/** A Sync message. */
export const syncMessage = (): Buffer => message("S");
/** A Close message for a prepared statement ('S') or portal ('P'). */
export const closeMessage = (kind: "S" | "P", name: string): Buffer => message("C", Buffer.concat([Buffer.from(kind, "latin1"), cstr(name)]));
/** A StartupMessage for protocol 3.0 with the given parameters. */
export function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.concat([...Object.entries(params).map(([k, v]) => cstr(`${k}\0${v}`)), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(PROTOCOL_3, 4);
  return Buffer.concat([head, body]);
}

/** AuthenticationOk, ParameterStatus, BackendKeyData and ReadyForQuery builders. */
export const authenticationOk = (): Buffer => message("R", Buffer.alloc(4));
export const parameterStatus = (name: string, value: string): Buffer => message("S", Buffer.concat([cstr(name), cstr(value)]));
export function backendKeyData(pid: number, secret: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeInt32BE(pid, 0);
  body.writeInt32BE(secret | 0, 4);
  return message("K", body);
}
export const readyForQuery = (status: "I" | "T" | "E"): Buffer => message("Z", Buffer.from(status, "latin1"));

/** An ErrorResponse with severity, SQLSTATE and message, as real Postgres would send it. */
export function errorResponse(severity: "ERROR" | "FATAL", code: string, text: string): Buffer {
  const fields = [`S${severity}`, `V${severity}`, `C${code}`, `M${text}`].map(cstr);
  return message("E", Buffer.concat([...fields, Buffer.from([0])]));
}

/** The (name, value) pairs of all ParameterStatus messages in a backend byte stream. */
export function parameterStatuses(out: Uint8Array): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  forEachBackendMessage(out, (type, body) => {
    if (type !== "S") return;
    const [name = "", value = ""] = body.toString("utf8").split("\0");
    found.push([name, value]);
  });
  return found;
}

/**
 * The transaction status of the ReadyForQuery that ends `out`, or null when `out` does not end
 * with one (the backend is then mid-way through a request and the client still owns it).
 */
export function trailingReadyStatus(out: Uint8Array): string | null {
  let status: string | null = null;
  forEachBackendMessage(out, (type, body) => {
    status = type === "Z" ? String.fromCharCode(body[0] ?? 0) : null;
  });
  return status;
}

function forEachBackendMessage(out: Uint8Array, fn: (type: string, body: Buffer) => void): void {
  const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let offset = 0;
  while (buf.length - offset >= 5) {
    const len = buf.readInt32BE(offset + 1);
    if (len < 4 || buf.length - offset < 1 + len) return;
    fn(String.fromCharCode(buf.readUInt8(offset)), buf.subarray(offset + 5, offset + 1 + len));
    offset += 1 + len;
  }
}

/**
 * Prefixes the named prepared statements and portals in an extended-protocol message, so that
 * clients sharing the single PGlite backend cannot collide (two pg clients both preparing "q1").
 * The unnamed statement and portal stay unnamed: ownership of the backend lasts until Sync, which
 * is as long as clients rely on them. `onParse`/`onClose` report statement names as rewritten.
 */
export function renameStatements(msg: FrontendMessage, prefix: string, track: { onParse(name: string): void; onClose(name: string): void }): Buffer {
  const b = msg.bytes;
  const readStr = (at: number): [string, number] => {
    const end = b.indexOf(0, at);
    if (end < 0) throw new ProtocolError(`unterminated string in '${msg.type}' message`);
    return [b.toString("utf8", at, end), end + 1];
  };
  const renamed = (name: string): string => (name === "" ? "" : prefix + name);
  // Rebuilds the message with its leading names renamed and the remaining bytes copied as is.
  const rebuild = (names: string[], restAt: number, lead = ""): Buffer =>
    message(msg.type, Buffer.concat([Buffer.from(lead, "latin1"), ...names.map((n) => cstr(renamed(n))), b.subarray(restAt)]));
  switch (msg.type) {
    case "P": {
      const [name, next] = readStr(5);
      if (name !== "") track.onParse(renamed(name));
      return name === "" ? b : rebuild([name], next);
    }
    case "B": {
      const [portal, afterPortal] = readStr(5);
      const [stmt, next] = readStr(afterPortal);
      return portal === "" && stmt === "" ? b : rebuild([portal, stmt], next);
    }
    case "E": {
      const [portal, next] = readStr(5);
      return portal === "" ? b : rebuild([portal], next);
    }
    case "D":
    case "C": {
      const kind = String.fromCharCode(b[5] ?? 0);
      const [name, next] = readStr(6);
      if (msg.type === "C" && kind === "S" && name !== "") track.onClose(renamed(name));
      return name === "" ? b : rebuild([name], next, kind);
    }
    default:
      return b;
  }
}

/** COPY … FROM STDIN as a statement of its own, after any comments. */
const COPY_FROM_STDIN = /(^|;)(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*copy\b[^;]*\bfrom\s+stdin\b/i;
const REFUSAL = "COPY FROM STDIN is not supported by the PGlite dev server";
const REFUSE_COPY = `DO $$ BEGIN RAISE EXCEPTION '${REFUSAL}' USING ERRCODE = 'feature_not_supported', HINT = 'Use INSERT, or a real PostgreSQL (DATABASE_URL).'; END $$`;
// A Parse may be followed by a Bind with parameters, which DO cannot take; this fails at Parse already.
const REFUSE_COPY_PREPARED = `SELECT '${REFUSAL}'::int`;

/**
 * Replaces a Query or Parse whose SQL contains COPY … FROM STDIN by one that raises a clear error.
 * PGlite reads COPY data from the bytes of the same call only; finding none, it exits the whole
 * Node process. Raising the error inside PGlite keeps the response in order and aborts an open
 * transaction exactly as a failed statement would.
 */
export function refuseCopyFromStdin(msg: FrontendMessage): Buffer {
  const b = msg.bytes;
  if (msg.type === "Q") {
    return COPY_FROM_STDIN.test(b.toString("utf8", 5, b.length - 1)) ? queryMessage(REFUSE_COPY) : b;
  }
  if (msg.type === "P") {
    const nameEnd = b.indexOf(0, 5);
    const sqlEnd = nameEnd < 0 ? -1 : b.indexOf(0, nameEnd + 1);
    if (sqlEnd < 0 || !COPY_FROM_STDIN.test(b.toString("utf8", nameEnd + 1, sqlEnd))) return b;
    return message("P", Buffer.concat([b.subarray(5, nameEnd + 1), cstr(REFUSE_COPY_PREPARED), b.subarray(sqlEnd + 1)]));
  }
  return b;
}
