// The venue's node URLs a connection tries: the configured ones (an active node and its standbys)
// in turn, moving on when one cannot be reached or goes away. A node of a sharded venue that does
// not serve this investor names its shard's URL (WRONG_SHARD): the next socket opens there, then the
// configured URLs as before, at most MAX_SHARD_REDIRECTS times in a row.
import type { ShardRedirect } from "../protocol/session.js";
import { ClientError } from "./errors.js";

/** Redirects followed without a completed connect in between: more means the venue's nodes disagree (TOO_MANY_REDIRECTS). */
export const MAX_SHARD_REDIRECTS = 3;

export class NodeUrls {
  private readonly configured: readonly string[];
  /** The configured URLs; a redirect puts its shard's URL in front of them. */
  private urls: readonly string[];
  /** The URL the next socket opens: the one that served last, or the next after a failure. */
  private index = 0;
  private redirects = 0;

  constructor(nodeUrl: string, fallbackUrls: readonly string[] = []) {
    this.configured = [nodeUrl, ...fallbackUrls];
    this.urls = this.configured;
  }

  /** The URL in use (or tried next). */
  get current(): string {
    return this.urls[this.index]!;
  }

  /** How many URLs a connect tries before it gives up. */
  get size(): number {
    return this.urls.length;
  }

  /** The current node could not be reached, refused us or went away: the next socket opens at the next URL. */
  failed(): void {
    this.index = (this.index + 1) % this.urls.length;
  }

  /** Follows a WRONG_SHARD to `target` (the next socket opens there); TOO_MANY_REDIRECTS after MAX_SHARD_REDIRECTS in a row. */
  redirect(target: ShardRedirect): void {
    if (this.redirects >= MAX_SHARD_REDIRECTS) {
      throw new ClientError("TOO_MANY_REDIRECTS", `${this.current} sent us to shard ${target.shard} at ${target.url} after ${this.redirects} redirects in a row: the venue's shard map is inconsistent`);
    }
    this.redirects += 1;
    this.urls = [target.url, ...this.configured.filter((u) => u !== target.url)];
    this.index = 0;
  }

  /** Redirects count afresh: after a completed connect, or a try that failed otherwise (a shard failing over names a dead node for a while). */
  resetRedirects(): void {
    this.redirects = 0;
  }
}
