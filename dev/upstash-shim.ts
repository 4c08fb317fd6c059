/**
 * An HTTP server speaking Upstash's Redis REST protocol as @upstash/redis uses it, so the API
 * Worker talks to a local cache exactly as it does in production: POST / with one command as a
 * JSON array, POST /pipeline and /multi-exec with arrays of commands, `Authorization: Bearer
 * TOKEN`, and with `Upstash-Encoding: base64` every string in a result base64-encoded.
 * Backed by a real Redis (ioredis) when `redisUrl` is given, under a key prefix of its own, else
 * by ioredis-mock in memory.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
// The default import is ioredis' module.exports (the Redis class) under every loader; the named
// export is missing when vitest's global setup loads this file.
import Redis from "ioredis";
import RedisMock from "ioredis-mock";

/** Options of {@link startUpstashShim}. */
export interface UpstashShimOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** The bearer token clients must send (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** redis://… of a real Redis; in memory (ioredis-mock) when omitted. */
  redisUrl?: string;
  /**
   * Prefix of every key this shim writes to a real Redis, so stacks sharing one server (two test
   * suites, consecutive runs within a rate-limit window) never see each other's keys. Clients see
   * unprefixed names. Default: a new random prefix per start, whose keys are deleted on close.
   */
  keyPrefix?: string;
  /** Receives diagnostic lines; silent by default. */
  log?: (line: string) => void;
}

/** A running shim; `close()` stops it and disconnects from Redis. */
export interface UpstashShim {
  port: number;
  /** http://HOST:PORT — UPSTASH_REDIS_REST_URL. */
  url: string;
  backend: "redis" | "memory";
  /** The prefix of this shim's keys in a real Redis. */
  keyPrefix?: string;
  close(): Promise<void>;
}

type Arg = string | number;
type Reply = string | number | null | Reply[];
type Outcome = { result: Reply } | { error: string };

interface Backend {
  run(cmd: Arg[]): Promise<unknown>;
  multi(cmds: Arg[][]): Promise<Outcome[]>;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024 * 1024;
const NOT_INTEGER = "ERR value is not an integer or out of range";

/** Commands that would break or block the one connection every request shares. */
const REFUSED = new Set(
  (
    "SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE MONITOR MULTI EXEC DISCARD WATCH UNWATCH " +
    "SELECT SWAPDB QUIT RESET HELLO AUTH CLIENT SYNC PSYNC SHUTDOWN DEBUG WAIT WAITAOF " +
    "BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP"
  ).split(" "),
);

/**
 * Option keywords, upper-cased before reaching the backend: @upstash/redis sends them lower-case
 * ("ex", "nx") and ioredis-mock silently ignores lower-case options. Per command: where options
 * start, each keyword with how many values follow it, and whether the first non-keyword ends them.
 */
const EXPIRY = { NX: 0, XX: 0, GT: 0, LT: 0 };
const SCANS = { MATCH: 1, COUNT: 1, TYPE: 1, NOVALUES: 0 };
const OPTIONS: Record<string, [number, Record<string, number>, boolean?]> = {
  SET: [3, { NX: 0, XX: 0, GET: 0, KEEPTTL: 0, EX: 1, PX: 1, EXAT: 1, PXAT: 1 }],
  GETEX: [2, { PERSIST: 0, EX: 1, PX: 1, EXAT: 1, PXAT: 1 }],
  EXPIRE: [3, EXPIRY],
  PEXPIRE: [3, EXPIRY],
  EXPIREAT: [3, EXPIRY],
  PEXPIREAT: [3, EXPIRY],
  ZADD: [2, { NX: 0, XX: 0, GT: 0, LT: 0, CH: 0, INCR: 0 }, true],
  SCAN: [2, SCANS],
  HSCAN: [3, SCANS],
  SSCAN: [3, SCANS],
  ZSCAN: [3, SCANS],
  ZRANGE: [4, { BYSCORE: 0, BYLEX: 0, REV: 0, WITHSCORES: 0, LIMIT: 2 }],
  ZRANGEBYSCORE: [4, { WITHSCORES: 0, LIMIT: 2 }],
  ZREVRANGEBYSCORE: [4, { WITHSCORES: 0, LIMIT: 2 }],
  ZRANGEBYLEX: [4, { LIMIT: 2 }],
  ZREVRANGEBYLEX: [4, { LIMIT: 2 }],
  ZREVRANGE: [4, { WITHSCORES: 0 }],
  ZRANDMEMBER: [3, { WITHSCORES: 0 }],
  HRANDFIELD: [3, { WITHVALUES: 0 }],
  LPOS: [3, { RANK: 1, COUNT: 1, MAXLEN: 1 }],
  LINSERT: [2, { BEFORE: 0, AFTER: 0 }, true],
  LMOVE: [3, { LEFT: 0, RIGHT: 0 }],
  COPY: [3, { DB: 1, REPLACE: 0 }],
  BITCOUNT: [4, { BYTE: 0, BIT: 0 }],
  FLUSHDB: [1, { ASYNC: 0, SYNC: 0 }],
  FLUSHALL: [1, { ASYNC: 0, SYNC: 0 }],
  SCRIPT: [1, { LOAD: 0, EXISTS: 0, FLUSH: 0 }, true],
};

/** Validates one command from a request body and upper-cases its name and option keywords. */
export function toCommand(value: unknown): Arg[] | string {
  if (!Array.isArray(value) || value.length === 0) return "ERR a command must be a non-empty JSON array";
  const cmd: Arg[] = [];
  for (const [i, a] of value.entries()) {
    if (typeof a === "string" || (typeof a === "number" && Number.isFinite(a))) cmd.push(a);
    else if (typeof a === "boolean") cmd.push(String(a));
    else return `ERR argument ${i} must be a string, number or boolean, got ${JSON.stringify(a)}`;
  }
  if (typeof cmd[0] !== "string" || !/^[A-Za-z][\w.|-]*$/.test(cmd[0])) return `ERR invalid command name ${JSON.stringify(cmd[0])}`;
  const name = cmd[0].toUpperCase();
  if (REFUSED.has(name)) return `ERR ${name} is not available through the REST API`;
  cmd[0] = name;
  const rule = OPTIONS[name];
  for (let i = rule?.[0] ?? cmd.length; rule && i < cmd.length; i++) {
    const a = cmd[i];
    const word = typeof a === "string" ? a.toUpperCase() : "";
    const values = rule[1][word];
    if (values === undefined) {
      if (rule[2]) break;
      continue;
    }
    cmd[i] = word;
    i += values;
  }
  return cmd;
}

/** Plain JSON-able values from what ioredis(-mock) returns (ioredis-mock turns HGETALL into an object). */
function toReply(v: unknown): Reply {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number") return v;
  if (typeof v === "bigint" || typeof v === "boolean") return Number(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  if (Array.isArray(v)) return v.map(toReply);
  if (v instanceof Error) return v.message;
  if (v instanceof Map) return [...v.entries()].flat().map(toReply);
  if (typeof v === "object") return Object.entries(v).flat().map(toReply);
  return String(v);
}

const b64 = (r: Reply): Reply => (typeof r === "string" ? Buffer.from(r, "utf8").toString("base64") : Array.isArray(r) ? r.map(b64) : r);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Commands whose answer depends on keys beyond the ones they name, which ioredis' keyPrefix does
 * not confine: KEYS, SCAN and the flushes are rewritten to the namespace, the rest refused.
 */
const UNCONFINED = new Set(["RANDOMKEY", "MOVE", "MIGRATE", "OBJECT", "MEMORY", "LMPOP", "ZMPOP", "SORT", "SORT_RO", "FUNCTION", "FCALL", "FCALL_RO"]);
/** The commands `run` answers itself, over the namespace's keys (not inside a transaction). */
const REWRITTEN = new Set(["FLUSHDB", "FLUSHALL", "DBSIZE", "KEYS", "SCAN"]);

async function redisBackend(url: string, prefix: string, deleteOnClose: boolean, log: (line: string) => void): Promise<Backend> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, keyPrefix: prefix });
  redis.on("error", (err: Error) => log(`redis: ${err.message}`));
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`upstash-shim: cannot reach Redis at ${url}: ${message(err)}`);
  }
  const unprefixed = (key: unknown): unknown => (typeof key === "string" && key.startsWith(prefix) ? key.slice(prefix.length) : key);
  /** Every key of the namespace, a batch at a time (SCAN MATCH is not prefixed by ioredis). */
  async function* namespaceKeys(pattern = "*"): AsyncGenerator<string[]> {
    let cursor = "0";
    do {
      const [next, batch] = (await redis.call("SCAN", cursor, "MATCH", prefix + pattern, "COUNT", 500)) as [string, string[]];
      cursor = next;
      if (batch.length > 0) yield batch;
    } while (cursor !== "0");
  }
  const flush = async (): Promise<string> => {
    for await (const batch of namespaceKeys()) await redis.call("UNLINK", ...batch.map((k) => unprefixed(k) as string));
    return "OK";
  };
  const run = async ([name, ...args]: Arg[]): Promise<unknown> => {
    if (UNCONFINED.has(String(name))) throw new Error(`ERR ${name} is not available through this shim`);
    switch (name) {
      case "FLUSHDB":
      case "FLUSHALL":
        return flush();
      case "DBSIZE": {
        let size = 0;
        for await (const batch of namespaceKeys()) size += batch.length;
        return size;
      }
      case "KEYS": {
        const found: unknown[] = [];
        for await (const batch of namespaceKeys(String(args[0] ?? "*"))) found.push(...batch.map(unprefixed));
        return found;
      }
      case "SCAN": {
        const options = args.slice(1);
        const match = options.indexOf("MATCH");
        if (match >= 0) options[match + 1] = prefix + String(options[match + 1]);
        else options.push("MATCH", `${prefix}*`);
        const [next, batch] = (await redis.call("SCAN", args[0] ?? 0, ...options)) as [string, string[]];
        return [next, batch.map(unprefixed)];
      }
      default:
        return redis.call(String(name), ...args);
    }
  };
  return {
    run,
    async multi(cmds) {
      const rewritten = cmds.find(([name]) => UNCONFINED.has(String(name)) || REWRITTEN.has(String(name)));
      if (rewritten) throw new Error(`ERR ${rewritten[0]} is not available in a transaction through this shim`);
      const m = redis.multi();
      for (const [name, ...args] of cmds) m.call(String(name), ...args);
      const res = await m.exec();
      if (!res) throw new Error("EXECABORT Transaction discarded");
      return res.map(([err, r]) => (err ? { error: err.message } : { result: toReply(r) }));
    },
    async close() {
      if (deleteOnClose) await flush().catch((err: unknown) => log(`upstash-shim: could not delete ${prefix}* on close: ${message(err)}`));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

let mockCount = 0;

function memoryBackend(): Backend {
  // ioredis-mock shares data between instances with the same host:port; a unique host isolates this one.
  const mock = new RedisMock({ host: `sparki-upstash-shim-${process.pid}-${++mockCount}` });
  const commands = mock as unknown as Record<string, unknown>;
  const scripts = (mock as unknown as { shaScripts: Record<string, string> }).shaScripts;
  // One command at a time: MULTI must not interleave with other requests.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T> | T): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  };
  const method = (name: Arg | undefined): string => {
    const lower = String(name).toLowerCase();
    // Commands are own methods of the mock instance; anything else (connect, on, …) is not a command.
    if (!Object.hasOwn(commands, lower) || typeof commands[lower] !== "function") throw new Error(`ERR unknown command '${name}'`);
    return lower;
  };
  // ioredis-mock has no SCRIPT command; EVALSHA reads the same table EVAL fills.
  const script = ([sub, ...args]: Arg[]): unknown => {
    if (sub === "LOAD" && args.length === 1) {
      const sha = createHash("sha1").update(String(args[0])).digest("hex");
      scripts[sha] = String(args[0]);
      return sha;
    }
    if (sub === "EXISTS") return args.map((sha) => (scripts[String(sha).toLowerCase()] ? 1 : 0));
    if (sub === "FLUSH") {
      for (const sha of Object.keys(scripts)) delete scripts[sha];
      return "OK";
    }
    throw new Error(`ERR unknown or malformed SCRIPT subcommand '${sub}'`);
  };
  // ioredis-mock answers INCR on a non-number with NaN, and stores it, where Redis raises an error.
  const checkNumeric = async ([name, key, field]: Arg[]): Promise<void> => {
    const float = name === "INCRBYFLOAT" || name === "HINCRBYFLOAT";
    if (!float && !/^(INCR|INCRBY|DECR|DECRBY|HINCRBY)$/.test(String(name))) return;
    const current = String(name).startsWith("H") ? await mock.hget(String(key), String(field)) : await mock.get(String(key));
    if (current !== null && !(float ? /^\s*-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i : /^-?\d+$/).test(current)) {
      throw new Error(float ? "ERR value is not a valid float" : NOT_INTEGER);
    }
  };
  return {
    run: (cmd) =>
      serial(async () => {
        const [name, ...args] = cmd;
        if (name === "SCRIPT") return script(args);
        await checkNumeric(cmd);
        const r = await (commands[method(name)] as (...a: Arg[]) => Promise<unknown>)(...args);
        if (Number.isNaN(r)) throw new Error(NOT_INTEGER);
        return r;
      }),
    multi: (cmds) =>
      serial(async () => {
        // As in Redis, a command failing at run time fails alone; the others still run.
        const early = await Promise.all(
          cmds.map((c) =>
            checkNumeric(c).then(
              () => null,
              (e: unknown) => message(e),
            ),
          ),
        );
        const batch = cmds.filter((_, i) => early[i] === null).map(([name, ...args]) => [method(name), ...args]);
        const res = (await mock.multi(batch).exec()) ?? [];
        return early.map((error): Outcome => {
          if (error !== null) return { error };
          const [err, r] = res.shift() ?? [null, null];
          if (err) return { error: err.message };
          return Number.isNaN(r) ? { error: NOT_INTEGER } : { result: toReply(r) };
        });
      }),
    async close() {
      await serial(() => mock.flushall());
      mock.disconnect();
    },
  };
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => ok(size > MAX_BODY ? null : Buffer.concat(chunks).toString("utf8")));
    req.on("error", fail);
  });
}

/** Starts the shim (and connects to Redis, if given). Resolves once it accepts requests. */
export async function startUpstashShim(opts: UpstashShimOptions): Promise<UpstashShim> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? "127.0.0.1";
  if (!opts.token) throw new Error("upstash-shim: a token is required");
  const expected = Buffer.from(`Bearer ${opts.token}`);
  const prefix = opts.keyPrefix ?? `sparki:${randomBytes(6).toString("hex")}:`;
  const backend = opts.redisUrl ? await redisBackend(opts.redisUrl, prefix, opts.keyPrefix === undefined, log) : memoryBackend();

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = Buffer.from(req.headers.authorization ?? "");
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) return reply(res, 401, { error: "Unauthorized" });
    if (req.method !== "POST") return reply(res, 405, { error: "ERR only POST is supported" });
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/" && path !== "/pipeline" && path !== "/multi-exec") return reply(res, 404, { error: `ERR unknown path ${path}` });
    const text = await readBody(req);
    if (text === null) return reply(res, 413, { error: "ERR request body too large" });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return reply(res, 400, { error: `ERR failed to parse the request body as JSON: ${message(err)}` });
    }
    const encode = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64" ? b64 : (r: Reply) => r;
    const out = (o: Outcome): Outcome => ("result" in o ? { result: encode(o.result) } : o);

    if (path === "/") {
      const cmd = toCommand(body);
      if (typeof cmd === "string") return reply(res, 400, { error: cmd });
      try {
        return reply(res, 200, out({ result: toReply(await backend.run(cmd)) }));
      } catch (err) {
        return reply(res, 400, { error: message(err) });
      }
    }
    if (!Array.isArray(body) || body.length === 0) return reply(res, 400, { error: "ERR expected a non-empty JSON array of commands" });
    const cmds = body.map(toCommand);
    const bad = cmds.findIndex((c) => typeof c === "string");
    if (bad >= 0) return reply(res, 400, { error: `${String(cmds[bad])} (command ${bad + 1})` });
    const valid = cmds as Arg[][];
    if (path === "/multi-exec") {
      try {
        return reply(res, 200, (await backend.multi(valid)).map(out));
      } catch (err) {
        return reply(res, 400, { error: message(err) });
      }
    }
    const results: Outcome[] = [];
    for (const cmd of valid) {
      // In order, one after another: a pipeline is not atomic, but its commands see each other's writes.
      results.push(
        await backend.run(cmd).then(
          (r) => out({ result: toReply(r) }),
          (err: unknown) => ({ error: message(err) }),
        ),
      );
    }
    return reply(res, 200, results);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`upstash-shim: ${message(err)}`);
      if (!res.headersSent) reply(res, 500, { error: `ERR ${message(err)}` });
      else res.destroy();
    });
  });
  try {
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(opts.port ?? 0, host, () => ok());
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
  server.on("error", (err) => log(`upstash-shim: ${err.message}`));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log(`upstash-shim listening on ${url} (${opts.redisUrl ? `redis, keys under ${prefix}` : "memory"})`);
  return {
    port,
    url,
    backend: opts.redisUrl ? "redis" : "memory",
    keyPrefix: opts.redisUrl ? prefix : undefined,
    async close() {
      const stopped = new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      await stopped;
      await backend.close();
    },
  };
}
