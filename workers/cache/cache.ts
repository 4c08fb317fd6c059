import { Redis } from "@upstash/redis/cloudflare";
import type { z } from "zod";

/** Reports a cache failure; the caller goes on without the cache. */
export type CacheErrorHandler = (operation: string, err: unknown) => void;

/**
 * Upstash-backed cache with validated reads. Every read goes through a zod schema (the cache
 * is a boundary like any other), and every failure degrades to the source of truth: a cache
 * outage makes Sparki slower, never wrong or unavailable.
 */
export class Cache {
  readonly redis: Redis;
  /** Reports a failure of an operation made directly on {@link redis}. */
  readonly reportError: CacheErrorHandler;

  constructor(url: string, token: string, onError: CacheErrorHandler) {
    // One quick retry: a slow cache must not hold a request hostage.
    this.redis = new Redis({ url, token, retry: { retries: 1, backoff: () => 25 }, enableTelemetry: false, automaticDeserialization: false });
    this.reportError = onError;
  }

  /** Reads several keys in one round trip; a missing, unreadable or invalid entry is undefined. */
  async readMany<S extends z.ZodType[]>(
    entries: { [K in keyof S]: [key: string, schema: S[K]] },
  ): Promise<{ [K in keyof S]: z.infer<S[K]> | undefined }> {
    const none = entries.map(() => undefined) as { [K in keyof S]: z.infer<S[K]> | undefined };
    let raw: (string | null)[];
    try {
      raw = await this.redis.mget<(string | null)[]>(...entries.map(([key]) => key));
    } catch (err) {
      this.reportError("mget", err);
      return none;
    }
    return entries.map(([, schema], i) => decode(schema, raw[i] ?? null)) as { [K in keyof S]: z.infer<S[K]> | undefined };
  }

  async read<T extends z.ZodType>(key: string, schema: T): Promise<z.infer<T> | undefined> {
    const [value] = await this.readMany<[T]>([[key, schema]]);
    return value;
  }

  async write(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.set(key, JSON.stringify(value), { ex: ttlSeconds });
    } catch (err) {
      this.reportError("set", err);
    }
  }

  /** Drops keys after a change. A failed invalidation is reported: the entry then lives out its TTL. */
  async remove(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.redis.del(...keys);
    } catch (err) {
      this.reportError("del", err);
    }
  }

  /** Returns the cached value, or loads it from the source of truth and caches it. */
  async getOrLoad<T extends z.ZodType>(key: string, ttlSeconds: number, schema: T, load: () => Promise<z.infer<T>>): Promise<z.infer<T>> {
    const hit = await this.read(key, schema);
    if (hit !== undefined) return hit;
    const value = await load();
    await this.write(key, value, ttlSeconds);
    return value;
  }
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
