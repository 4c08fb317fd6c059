import { Redis } from "@upstash/redis/cloudflare";
import type { z } from "zod";
import type { IsolateMemo } from "./isolate-memo.js";

/** What {@link Cache.remove} leaves: not JSON, so every read takes it for a miss. */
const TOMBSTONE = "~removed";
/** Far longer than any load from Postgres takes, short enough that caching resumes soon. */
const TOMBSTONE_SECONDS = 10;

/** Reports a cache failure; the caller goes on without the cache. */
export type CacheErrorHandler = (operation: string, err: unknown) => void;

/**
 * Upstash-backed cache for one request, with validated reads. Every read goes through a zod
 * schema (the cache is a boundary like any other), and every failure degrades to the source of
 * truth: a cache outage makes Sparki slower, never wrong or unavailable.
 *
 * Raw values are memoised for the request, so a middleware can {@link prefetch} every key the
 * request will need in one round trip and later reads cost nothing; before that, a short-lived
 * isolate-wide tier ({@link IsolateMemo}) may answer without any round trip.
 */
export class Cache {
  readonly redis: Redis;
  /** Reports a failure of an operation made directly on {@link redis}. */
  readonly reportError: CacheErrorHandler;
  readonly #memo = new Map<string, string | null>();
  readonly #isolate: IsolateMemo | undefined;

  constructor(url: string, token: string, onError: CacheErrorHandler, isolate?: IsolateMemo) {
    this.#isolate = isolate;
    this.redis = clientFor(url, token);
    this.reportError = onError;
  }

  /** Fetches the keys not yet seen in this request, all in one MGET. */
  async prefetch(keys: string[]): Promise<void> {
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      if (this.#memo.has(key)) continue;
      const remembered = this.#isolate?.get(key);
      if (remembered !== undefined) this.#memo.set(key, remembered);
      else missing.push(key);
    }
    if (missing.length === 0) return;
    try {
      const raw = await this.redis.mget<(string | null)[]>(...missing);
      missing.forEach((key, i) => {
        this.#remember(key, raw[i] ?? null);
      });
    } catch (err) {
      this.reportError("mget", err);
    }
  }

  /** Reads several keys in one round trip; a missing, unreadable or invalid entry is undefined. */
  async readMany<S extends z.ZodType[]>(entries: { [K in keyof S]: [key: string, schema: S[K]] }): Promise<{ [K in keyof S]: z.infer<S[K]> | undefined }> {
    await this.prefetch(entries.map(([key]) => key));
    return entries.map(([key, schema]) => decode(schema, this.#memo.get(key) ?? null)) as { [K in keyof S]: z.infer<S[K]> | undefined };
  }

  async read<T extends z.ZodType>(key: string, schema: T): Promise<z.infer<T> | undefined> {
    const [value] = await this.readMany<[T]>([[key, schema]]);
    return value;
  }

  /** Sets a value whatever the key holds: the new state, written right after the change that made it. */
  async write(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    const raw = JSON.stringify(value);
    this.#remember(key, raw);
    try {
      await this.redis.set(key, raw, { ex: ttlSeconds });
    } catch (err) {
      this.reportError("set", err);
    }
  }

  /**
   * Caches a value just loaded from the source of truth, unless the key holds anything by now: a
   * tombstone of a change made while it loaded (see {@link remove}) or a newer entry. The request
   * itself goes on with what it loaded.
   */
  async fill(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    const raw = JSON.stringify(value);
    this.#memo.set(key, raw);
    try {
      if ((await this.redis.set(key, raw, { ex: ttlSeconds, nx: true })) !== null) this.#isolate?.set(key, raw);
    } catch (err) {
      this.reportError("set", err);
    }
  }

  /**
   * Forgets keys after a change. Not a DEL: a request that read the old state just before the
   * change would put it back for a whole TTL once it fills (a rolled-back site served its broken
   * version on). A tombstone, which reads as a miss, keeps {@link fill} out for a while instead.
   * A failed invalidation is reported: the entry then lives out its TTL.
   */
  async remove(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) this.#remember(key, null);
    try {
      await Promise.all(keys.map((key) => this.redis.set(key, TOMBSTONE, { ex: TOMBSTONE_SECONDS })));
    } catch (err) {
      this.reportError("del", err);
    }
  }

  #remember(key: string, raw: string | null): void {
    this.#memo.set(key, raw);
    this.#isolate?.set(key, raw);
  }

  /** Returns the cached value, or loads it from the source of truth and caches it. */
  async getOrLoad<T extends z.ZodType>(key: string, ttlSeconds: number, schema: T, load: () => Promise<z.infer<T>>): Promise<z.infer<T>> {
    const hit = await this.read(key, schema);
    if (hit !== undefined) return hit;
    const value = await load();
    await this.fill(key, value, ttlSeconds);
    return value;
  }
}

// The client holds only configuration (each command is its own fetch), so one per isolate serves
// every request.
const clients = new Map<string, Redis>();
function clientFor(url: string, token: string): Redis {
  const id = `${url} ${token}`;
  let client = clients.get(id);
  if (!client) {
    // One quick retry: a slow cache must not hold a request hostage.
    client = new Redis({ url, token, retry: { retries: 1, backoff: () => 25 }, enableTelemetry: false, automaticDeserialization: false });
    clients.set(id, client);
  }
  return client;
}

function decode<T extends z.ZodType>(schema: T, raw: string | null): z.infer<T> | undefined {
  if (raw === null) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
