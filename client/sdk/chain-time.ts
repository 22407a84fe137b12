// The time the SDK judges locks by (docs/trading.md, "Lock expiries by chain time"): the chain's,
// the notion the adjudicator and the venue's node use (the timestamp a transaction sent now would
// get). A lock's expiry is acceptable, a lock may be claimed, or has expired back to its sender, by
// the chain's clock, which can run far from the host's (a local chain moved with evm_increaseTime,
// drifting block times). Read at most once per `maxAgeMs` (concurrent reads share one), advanced at
// the host's rate in between; a failed read falls back on the last one, advanced likewise. A client
// without a chain connection has only the host's clock.
export class ChainTime {
  private basis: { readonly chainTime: bigint; readonly hostMs: number } | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    /** The chain's time now (AdjudicatorClient.chainTime); none: the host's clock. */
    private readonly read: (() => Promise<bigint>) | undefined,
    private readonly maxAgeMs = 1_000,
    private readonly hostNowMs: () => number = Date.now,
  ) {}

  /** Unix seconds by the chain's clock; rejects only when the chain was never read and cannot be. */
  async now(): Promise<bigint> {
    if (this.read === undefined) return BigInt(Math.floor(this.hostNowMs() / 1_000));
    if (this.basis === undefined || this.hostNowMs() - this.basis.hostMs > this.maxAgeMs) {
      const read = this.read;
      this.reading ??= (async () => {
        const hostMs = this.hostNowMs();
        this.basis = { chainTime: await read(), hostMs };
      })()
        .catch((error: unknown) => {
          if (this.basis === undefined) throw error;
        })
        .finally(() => {
          this.reading = undefined;
        });
      await this.reading;
    }
    const basis = this.basis!;
    return basis.chainTime + BigInt(Math.floor((this.hostNowMs() - basis.hostMs) / 1_000));
  }
}
