/**
 * The chain's time, as the node uses it for every decision that must agree with the chain: lock-ups
 * and attribute expiries (the compliance mirror), lock expiries. The token and the adjudicator judge
 * a transaction by its block's timestamp, which can be far from the host's clock (a local chain moved
 * with `evm_increaseTime`, drifting block timestamps), so the host's clock decides nothing.
 *
 * Each `refresh()` reads the `pending` block — the timestamp the chain would give a transaction sent
 * now, which follows the chain's clock even when no block is mined (local chains mine only on
 * transactions) — and the `latest` block. Between refreshes the time advances at the host's rate.
 * An RPC that has no `pending` block (or reports one older than `latest`) leaves the latest block's
 * timestamp, counted from when the node first saw that block.
 *
 * Stale view: when no refresh has succeeded for `maxViewAgeMs`, the node knows neither the chain's
 * time nor its recent events (a freeze, a pause), so `now()` throws COMPLIANCE_UNKNOWN and every
 * decision that needs it is refused until the chain answers again (docs/operations.md, "Chain facts").
 */
import { z } from "zod";
import { ProtocolError } from "../../client/protocol/index.js";

/** What the clock needs of a provider (ethers' JsonRpcProvider fits). */
export interface ClockProvider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

const quantity = z.string().regex(/^0x[0-9a-fA-F]+$/, "a hex quantity").transform((hex) => BigInt(hex));
const blockSchema = z.object({ number: quantity.nullable().optional(), timestamp: quantity });

export interface ChainClockOptions {
  readonly provider: ClockProvider;
  /** Refuse decisions once the last successful read is older than this. */
  readonly maxViewAgeMs: number;
  /** The host's clock in milliseconds (default `Date.now`). */
  readonly hostNowMs?: () => number;
}

/** What one refresh saw. */
export interface ClockSample {
  /** The chain's time at the read, in seconds. */
  readonly chainTime: bigint;
  /** `chainTime` minus the host's clock, in seconds. */
  readonly driftSeconds: number;
  readonly source: "pending" | "latest";
}

export class ChainClock {
  private readonly hostNowMs: () => number;
  /** The chain's time at host time `hostMs`. */
  private basis: { chainTime: bigint; hostMs: number } | undefined;
  private latestBlock: bigint | undefined;
  private lastReadMs = -Infinity;
  private inFlight: Promise<ClockSample> | null = null;

  constructor(private readonly options: ChainClockOptions) {
    this.hostNowMs = options.hostNowMs ?? Date.now;
  }

  /** Reads the chain's time (concurrent calls share one read). Rejects when the RPC fails. */
  refresh(): Promise<ClockSample> {
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Whether a read succeeded within `maxViewAgeMs`. */
  get fresh(): boolean {
    return this.basis !== undefined && this.hostNowMs() - this.lastReadMs <= this.options.maxViewAgeMs;
  }

  /** The chain's time now, in seconds; throws COMPLIANCE_UNKNOWN when the view is stale. */
  now(): bigint {
    const hostMs = this.hostNowMs();
    if (this.basis === undefined) throw new ProtocolError("COMPLIANCE_UNKNOWN", "the node has not read the chain's time yet", { reason: "CHAIN_VIEW_STALE" });
    const age = hostMs - this.lastReadMs;
    if (age > this.options.maxViewAgeMs) {
      throw new ProtocolError("COMPLIANCE_UNKNOWN", `the node's view of the chain is stale: last read ${Math.round(age)} ms ago (bound ${this.options.maxViewAgeMs} ms)`, {
        reason: "CHAIN_VIEW_STALE",
        ageMs: Math.round(age),
      });
    }
    return this.basis.chainTime + BigInt(Math.floor((hostMs - this.basis.hostMs) / 1000));
  }

  private async read(): Promise<ClockSample> {
    const { provider } = this.options;
    const [pending, latest] = await Promise.all([
      // An RPC without a pending block answers null or an error: the latest block decides then.
      provider.send("eth_getBlockByNumber", ["pending", false]).then(
        (raw) => (raw === null ? null : blockSchema.parse(raw)),
        () => null,
      ),
      provider.send("eth_getBlockByNumber", ["latest", false]).then((raw) => blockSchema.parse(raw)),
    ]);
    const hostMs = this.hostNowMs();
    let source: ClockSample["source"];
    if (pending !== null && pending.timestamp >= latest.timestamp) {
      this.basis = { chainTime: pending.timestamp, hostMs };
      source = "pending";
    } else {
      // Counted from the first sight of the block, so an idle chain's time keeps advancing.
      if (latest.number !== this.latestBlock || this.basis === undefined) this.basis = { chainTime: latest.timestamp, hostMs };
      source = "latest";
    }
    this.latestBlock = latest.number ?? undefined;
    this.lastReadMs = hostMs;
    const chainTime = this.now();
    return { chainTime, driftSeconds: Number(chainTime) - Math.floor(hostMs / 1000), source };
  }
}
