/**
 * The first cache tier: raw cache values kept in the isolate's memory for a very short time.
 * An isolate serves many requests, and reading the same user, roles and project from Upstash for
 * each costs a network round trip that dominates a cached request. Entries live at most `ttlMs`
 * (2 s by default), so a change made through another isolate reaches this one within that bound;
 * a change made through this isolate updates it at once.
 */
export class IsolateMemo {
  readonly #entries = new Map<string, { value: string | null; expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(ttlMs: number, maxEntries = 5000) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  /** The value if fresh (null meaning "known absent"), undefined if unknown or stale. */
  get(key: string, now = Date.now()): string | null | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: string | null, now = Date.now()): void {
    if (!this.enabled) return;
    // Re-inserting moves the key to the end, so the first key is always the oldest.
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + this.#ttlMs });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}

const memos = new Map<number, IsolateMemo>();

/** The isolate-wide memo for a TTL (one per configured value, so tests can vary it). */
export function isolateMemo(ttlMs: number): IsolateMemo {
  let memo = memos.get(ttlMs);
  if (!memo) {
    memo = new IsolateMemo(ttlMs);
    memos.set(ttlMs, memo);
  }
  return memo;
}
