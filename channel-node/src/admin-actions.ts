// The operator's updates of a channel, behind the admin API (docs/operations.md, "Operator
// commands"): a cooperative close and a withdrawal of the venue's own funds. Both need the
// investor's countersignature, which its SDK gives unasked only for a final state of exactly the
// latest balances with nothing in flight, and for a withdrawal that lowers only the venue's side
// (client/sdk/venue-proposals.ts). The venue proposes, the investor countersigns, then the node
// sends the agreed state on chain. Every refusal is an OperatorActionError with a stable code and
// the cause in words, checked before anything is proposed or sent.
import type { Logger } from "pino";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import { ProtocolError, channelBalance, type Bytes32, type SignedState, type Update } from "../../client/protocol/index.js";
import type { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { checkpointOf } from "../../client/chain/checkpoint.js";
import type { ChannelStore } from "../../client/store/store.js";
import type { Address } from "../../client/protocol/types.js";
import type { AdminAnswer } from "./http.js";
import type { ChannelEngine } from "./engine.js";
import { RefusedError, UnansweredError } from "./proposals.js";

export const OPERATOR_ACTION_CODES = [
  /** The channel is not open on chain (concluded, disputed or not opened yet). */
  "CHANNEL_CONCLUDED",
  "CHANNEL_DISPUTED",
  "CHANNEL_PROPOSED",
  /** The investor is not connected: nobody can countersign (a forced close settles without it). */
  "INVESTOR_OFFLINE",
  /** The investor did not answer in time; the proposal stays open to its countersignature until void. */
  "INVESTOR_UNRESPONSIVE",
  /** The investor's client refused the proposal (it is void). */
  "INVESTOR_REFUSED",
  /** The venue's previous proposal in the channel is unanswered. */
  "PROPOSAL_PENDING",
  /** Locks (payments in flight) are unresolved: no final state until they resolve or expire. */
  "LOCKS_OUTSTANDING",
  /** The investor's resting orders reserve funds of the channel. */
  "FUNDS_RESERVED",
  /** The venue holds less of the asset in the channel than the withdrawal. */
  "INSUFFICIENT_BALANCE",
  /** The core refused the venue's own update (a race with another update). */
  "UPDATE_REFUSED",
] as const;

export type OperatorActionCode = (typeof OPERATOR_ACTION_CODES)[number];

/** A refused operator action; the admin API answers its message as is, with its details beside it. */
export class OperatorActionError<C extends OperatorActionCode = OperatorActionCode> extends CodedError<C, Readonly<Record<string, string>>> {
  override readonly name: string = "OperatorActionError";
  constructor(
    code: C,
    message: string,
    /** The HTTP status the admin API answers with. */
    readonly status: number,
    details: Readonly<Record<string, string>> = {},
  ) {
    super(code, message, details, { codeSuffix: false });
  }
}

/** Whether `error` is an OperatorActionError, optionally of a given code. */
export function isOperatorActionError<C extends OperatorActionCode>(error: unknown, code?: C): error is OperatorActionError<C> {
  return isCodedError(error, OperatorActionError, code);
}

export interface AdminActionsOptions {
  readonly engine: ChannelEngine;
  readonly chain: AdjudicatorClient;
  /** The channels' agreed states: a withdrawal's checkpoint comes from them. */
  readonly store: Pick<ChannelStore, "history">;
  /** What an investor's resting orders reserve of a token (the trading desk); none without trading. */
  readonly reservedOf: (investor: Address, token: Address) => bigint;
  readonly logger: Logger;
}

const VENUE = 0;
const FORCE_CLOSE = "force-close it with `close --force` (the node settles after the challenge period)";

/** The operator's cooperative close and withdrawal. */
export class AdminActions {
  constructor(private readonly options: AdminActionsOptions) {}

  /**
   * The admin API's routes of this module (`parts`: the path below /admin split at "/"), or
   * undefined when the request is not one of them.
   */
  async route(method: string, parts: readonly string[], query: URLSearchParams): Promise<AdminAnswer | undefined> {
    if (method !== "POST" || parts.length !== 3 || parts[0] !== "channels") return undefined;
    const channelId = parts[1] as Bytes32;
    try {
      if (parts[2] === "cooperative-close") return { status: 200, body: await this.closeCooperatively(channelId) };
      if (parts[2] !== "withdraw") return undefined;
      const asset = query.get("asset") ?? "";
      const amount = query.get("amount") ?? "";
      const assets = this.options.engine.record(channelId)?.params.assets.length ?? 0;
      if (!/^(0|[1-9][0-9]{0,2})$/.test(asset) || Number(asset) >= assets || !/^[1-9][0-9]{0,77}$/.test(amount)) {
        return { status: 400, body: { code: "ADMIN_BAD_REQUEST", error: `asset=<index below ${assets}>&amount=<positive integer> required` } };
      }
      return { status: 200, body: await this.withdraw(channelId, Number(asset), BigInt(amount)) };
    } catch (error) {
      if (!isOperatorActionError(error)) throw error;
      this.options.logger.info({ channelId, action: parts[2], code: error.code, reason: error.message }, "operator action refused");
      return { status: error.status, body: { code: error.code, error: error.message, ...error.details } };
    }
  }

  /**
   * Agrees a final state of the latest balances with the investor and concludes the channel on chain
   * with it. A final state agreed before (its transaction failed) is sent again.
   */
  async closeCooperatively(channelId: Bytes32): Promise<{ nonce: bigint; transactionHash: string }> {
    const { engine } = this.options;
    this.assertOpen(channelId);
    let final = engine.latest(channelId)!;
    if (!final.state.isFinal) {
      const record = engine.record(channelId)!;
      const locks = new Set([...final.state.locks, ...(record.pending?.signed.state.locks ?? [])].map((lock) => lock.hashlock));
      if (locks.size > 0) {
        throw new OperatorActionError(
          "LOCKS_OUTSTANDING",
          `the channel has ${locks.size} unresolved lock${locks.size === 1 ? "" : "s"} (payments in flight): they must be claimed or expire before a final state, or ${FORCE_CLOSE}`,
          409,
          { locks: String(locks.size) },
        );
      }
      const investor = record.params.participants[1];
      for (const token of record.params.assets) {
        const reserved = this.options.reservedOf(investor, token);
        if (reserved > 0n) {
          throw new OperatorActionError("FUNDS_RESERVED", `the investor's resting orders reserve ${reserved} units of ${token}: they must be filled or cancelled before the channel closes`, 409, {
            token,
            reserved: reserved.toString(),
          });
        }
      }
      final = await this.agree(channelId, { kind: "final" });
    }
    const outcome = await this.options.chain.closeCooperatively(engine.record(channelId)!.params, final);
    this.options.logger.info({ channelId, nonce: final.state.nonce.toString(), tx: outcome.hash }, "channel closed cooperatively on the operator's request");
    return { nonce: final.state.nonce, transactionHash: outcome.hash };
  }

  /** Agrees the venue's withdrawal of `amount` of asset `assetIndex` with the investor, then withdraws on chain. */
  async withdraw(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<{ nonce: bigint; transactionHash: string }> {
    const { engine } = this.options;
    this.assertOpen(channelId);
    const record = engine.record(channelId)!;
    const held = channelBalance(engine.latest(channelId)!.state, record.deposits, assetIndex, VENUE);
    if (amount > held) {
      const token = record.params.assets[assetIndex]!;
      throw new OperatorActionError("INSUFFICIENT_BALANCE", `the venue holds ${held} units of ${token} in the channel, less than the ${amount} to withdraw`, 409, {
        token,
        held: held.toString(),
        amount: amount.toString(),
      });
    }
    const agreed = await this.agree(channelId, { kind: "withdrawal", withdrawals: [{ assetIndex, participant: VENUE, amount }] });
    const current = engine.record(channelId)!;
    const outcome = await this.options.chain.withdraw(current.params, agreed, await checkpointOf(this.options.chain, this.options.store, current));
    this.options.logger.info({ channelId, assetIndex, amount: amount.toString(), nonce: agreed.state.nonce.toString(), tx: outcome.hash }, "venue withdrew from a channel");
    return { nonce: agreed.state.nonce, transactionHash: outcome.hash };
  }

  /** CHANNEL_<STATUS> unless the channel is open on chain: nothing is proposed or sent. */
  private assertOpen(channelId: Bytes32): void {
    const status = this.options.engine.record(channelId)!.status;
    if (status === "open") return;
    const words = status === "concluded" ? "the channel is already concluded" : status === "disputed" ? "the channel is already disputed on chain" : "the channel is not open on chain yet";
    throw new OperatorActionError(`CHANNEL_${status.toUpperCase()}` as OperatorActionCode, words, 409);
  }

  /** Proposes the venue's update and waits for the investor's countersignature; refusals in words. */
  private async agree(channelId: Bytes32, update: Update): Promise<SignedState> {
    const { engine } = this.options;
    const investor = engine.record(channelId)!.params.participants[1];
    const what = update.kind === "final" ? "a cooperative close" : "the venue's withdrawal";
    if (!engine.isConnected(investor)) {
      throw new OperatorActionError("INVESTOR_OFFLINE", `the investor ${investor} is offline: ${what} needs its countersignature; try again when it is connected, or ${FORCE_CLOSE}`, 409, { investor });
    }
    try {
      return await engine.proposeAsVenue(channelId, update);
    } catch (error) {
      if (error instanceof UnansweredError) {
        throw new OperatorActionError(
          "INVESTOR_UNRESPONSIVE",
          `the investor ${investor} did not answer: the proposal stays open to its countersignature until it is void; try again later, or ${FORCE_CLOSE}`,
          504,
          { investor },
        );
      }
      if (error instanceof RefusedError) throw new OperatorActionError("INVESTOR_REFUSED", `the investor's client refused ${what}: ${error.shortMessage.replace(/^the receiver refused: /, "")}`, 409, { investor });
      if (error instanceof ProtocolError && error.code === "BUSY") {
        throw new OperatorActionError("PROPOSAL_PENDING", "the venue's previous proposal in this channel is unanswered; try again once the investor answered it or it is void", 409);
      }
      if (error instanceof ProtocolError && error.code === "INVALID_UPDATE" && !engine.isConnected(investor)) {
        throw new OperatorActionError("INVESTOR_OFFLINE", `the investor ${investor} went offline: ${what} needs its countersignature; ${FORCE_CLOSE}`, 409, { investor });
      }
      if (error instanceof ProtocolError) throw new OperatorActionError(error.code === "LOCKS_OUTSTANDING" ? "LOCKS_OUTSTANDING" : "UPDATE_REFUSED", `the venue's update was refused: ${error.shortMessage} (${error.code})`, 409);
      throw error;
    }
  }
}
