// The console's issuer view: the cap table of each security the venue trades — every holder's
// balance including what it holds inside channels, and whether it is frozen — read with the issuer
// CLI's own code (client/issuer/captable.ts). It reads the chain's logs, so one read runs at a time
// and its result is reused for `maxAgeMs`: a flood of requests costs one read per interval. Each
// security's log index is kept between reads, so a read scans only the blocks since the last one
// (and the latest few again, against reorganisations).
import { Contract, type Provider } from "ethers";
import { restrictedTokenAbi } from "../../../client/chain/abi.js";
import { toChainError } from "../../../client/chain/errors.js";
import { readCapTable, type CapTable, type KeptCapTableIndex } from "../../../client/issuer/captable.js";
import type { Address } from "../../../client/protocol/types.js";
import type { AssetInfo } from "../operator-info.js";

export interface CapTablesOptions {
  readonly provider: Provider;
  readonly adjudicator: Address;
  readonly securities: readonly Address[];
  asset(address: Address): Promise<AssetInfo>;
  /** Where the scan of the logs starts (the deployment block). */
  readonly fromBlock: number;
  readonly maxAgeMs: number;
  /** Holders listed per token at most (the answer says how many there are). */
  readonly maxRows: number;
  readonly clock?: () => number;
}

export interface CapTablesAnswer {
  /** Host time of the read, ms. */
  readonly readAt: number;
  readonly tables: (Omit<CapTable, "holders"> & { holdersTotal: number; holders: CapTable["holders"] })[];
}

export class CapTables {
  private cached: { answer: CapTablesAnswer; at: number } | undefined;
  private inFlight: Promise<CapTablesAnswer> | undefined;
  private readonly indexes = new Map<Address, KeptCapTableIndex>();

  constructor(private readonly options: CapTablesOptions) {}

  /** The cap tables, at most `maxAgeMs` old; a failed read is not cached. */
  read(): Promise<CapTablesAnswer> {
    const now = (this.options.clock ?? Date.now)();
    if (this.cached !== undefined && now - this.cached.at <= this.options.maxAgeMs) return Promise.resolve(this.cached.answer);
    this.inFlight ??= this.readAll(now).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async readAll(now: number): Promise<CapTablesAnswer> {
    const { provider, adjudicator, maxRows } = this.options;
    const tables = [];
    for (const address of this.options.securities) {
      const token = new Contract(address, restrictedTokenAbi() as never, provider);
      let kept = this.indexes.get(address);
      if (kept === undefined) this.indexes.set(address, (kept = {}));
      const { data } = await readCapTable(
        {
          provider,
          adjudicator,
          token: () => token,
          tokenFacts: () => this.options.asset(address),
          view: async (contract, method, ...args) => {
            try {
              return await contract.getFunction(method).staticCall(...args);
            } catch (error) {
              throw toChainError(error, method);
            }
          },
        },
        { fromBlock: String(this.options.fromBlock) },
        kept,
      );
      tables.push({ ...data, holdersTotal: data.holders.length, holders: data.holders.slice(0, maxRows) });
    }
    const answer = { readAt: now, tables };
    this.cached = { answer, at: now };
    return answer;
  }
}
