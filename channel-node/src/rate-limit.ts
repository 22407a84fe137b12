/** A token bucket: `perSecond` sustained, `burst` at once. Time is passed in, so tests need no clock. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token if there is one; `now` in milliseconds. */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface KeyedRate {
  readonly perSecond: number;
  readonly burst: number;
  /** Keys remembered at once; past it the least recently used key is forgotten (its bucket starts full again). */
  readonly maxKeys: number;
}

/** Logins per remote address: enough for a NAT'd office reconnecting at once, far below a flood. */
export const DEFAULT_LOGIN_RATE: KeyedRate = { perSecond: 20, burst: 64, maxKeys: 10_000 };

/** One token bucket per key (e.g. a remote address), at most `maxKeys` of them. */
export class KeyedTokenBuckets {
  /** In order of last use: the first key is the least recently used. */
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly rate: KeyedRate) {}

  /** Takes one token from `key`'s bucket if there is one; `now` in milliseconds. */
  take(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.rate.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = new TokenBucket(this.rate.perSecond, this.rate.burst, now);
    } else {
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    return bucket.take(now);
  }

  /** Keys remembered now. */
  get size(): number {
    return this.buckets.size;
  }
}
