/**
 * `AdjudicatorClient`: a thin adapter from the protocol core's types to `contracts/Adjudicator.sol`
 * through ethers v6. It converts (a `State` with its `locks` becomes the contract's tuple with
 * `locksRoot`; a `SignedState` becomes its two signatures), sends, waits for the configured number
 * of confirmations, reports progress, and turns every failure into a `ChainError` whose revert, when
 * there is one, is decoded against the ABIs of every Clearline contract. It decides nothing: which
 * state to register or when to settle is the caller's (see watchtower.ts).
 *
 * Transactions of one client are submitted one at a time (each waits until the previous one has
 * been handed to the node) so concurrent calls never race for the account's nonce; waiting for
 * confirmations happens concurrently.
 */
import {
  Contract,
  MaxUint256,
  type ContractTransactionResponse,
  type Log,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { channelIdOf, locksRootOf } from "../protocol/encoding.js";
import type { Address, Bytes32, Deployment, Lock, Params, SignedState, State } from "../protocol/types.js";
import { adjudicatorAbi, erc20Abi, interfaceOf } from "./abi.js";
import { ChainError, toChainError } from "./errors.js";
import { checkpointTuple, lockOf, lockTuples, NO_CHECKPOINT, paramsTuple, signaturesOf, stateTuple, type LockResult, type StateTuple } from "./tuples.js";

/** `Adjudicator.Phase`, by name. */
export const CHANNEL_PHASES = ["None", "Open", "Disputed", "Concluded"] as const;
export type ChannelPhase = (typeof CHANNEL_PHASES)[number];

/** `Adjudicator.channel(id)`: while disputed `nonce` is the registered one, else the last checkpoint. */
export interface ChannelRecord {
  readonly phase: ChannelPhase;
  readonly nonce: bigint;
  /** End of the challenge period while disputed; 0 otherwise. */
  readonly deadline: bigint;
}

/**
 * What the channel holds of one asset: `Adjudicator.holdings(id, assetIndex)` (deposits minus
 * withdrawals), and what each participant withdrew without closing — the checkpointed state's
 * `withdrawn`, which the adjudicator does not store (read from the last withdrawal's transaction).
 * All zero once the channel is concluded.
 */
export interface Holdings {
  readonly available0: bigint;
  readonly available1: bigint;
  readonly paid0: bigint;
  readonly paid1: bigint;
}

/** The outcome registered by the latest `StateRegistered` event of a channel: all `settle` needs. */
export interface RegisteredOutcome {
  readonly nonce: bigint;
  readonly deadline: bigint;
  readonly nets: readonly bigint[];
  readonly locksRoot: Bytes32;
  /** The registered state's lock list, as the event carries it. */
  readonly locks: readonly Lock[];
  readonly blockNumber: number;
  readonly transactionHash: string;
}

/** Progress of one transaction, for a CLI's display. `action` is the method name ("approve", "open", …). */
export type TxProgress =
  | { readonly stage: "submitted"; readonly action: string; readonly hash: string }
  | { readonly stage: "mined"; readonly action: string; readonly hash: string; readonly blockNumber: number }
  | {
      readonly stage: "confirmed";
      readonly action: string;
      readonly hash: string;
      readonly blockNumber: number;
      readonly confirmations: number;
    };

/** A transaction that was mined successfully and has the requested confirmations. */
export interface TxOutcome {
  readonly action: string;
  readonly hash: string;
  readonly blockNumber: number;
  readonly gasUsed: bigint;
  readonly receipt: TransactionReceipt;
}

export interface AdjudicatorClientOptions {
  /** Confirmations to wait for, ethers' sense: 1 = mined (default), n = n − 1 blocks on top. */
  readonly confirmations?: number;
  /** Called as each transaction is submitted, mined and confirmed; exceptions it throws are ignored. */
  readonly onProgress?: (progress: TxProgress) => void;
  /** How often to look at the chain's head while waiting for confirmations (ms, default 1,000). */
  readonly pollIntervalMs?: number;
  /** Give up waiting for a transaction after this long (ms, default 10 minutes): TIMEOUT. */
  readonly timeoutMs?: number;
  /** Approve exactly what a deposit needs (default), or the maximum once. */
  readonly approval?: "exact" | "unlimited";
  /** Injectable sleep (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Where event searches start when the caller names no block (the adjudicator's deployment block,
   * e.g. the node's `startBlock`). Without it such a search is refused (LOG_START_UNKNOWN): a search
   * from genesis is slow or refused on a real chain.
   */
  readonly startBlock?: number;
  /** Most blocks per `eth_getLogs` of an event search (default 5,000; providers commonly refuse more). */
  readonly maxLogRange?: number;
}

/** Default of `AdjudicatorClientOptions.maxLogRange`. */
export const DEFAULT_MAX_LOG_RANGE = 5_000;

/**
 * The state a withdrawal builds on: the last withdrawal's agreed state (as the core's `State`, or the
 * contract's struct as `checkpointedState` reads it), or null before the first withdrawal.
 */
export type Checkpoint = State | StateTuple | null;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export class AdjudicatorClient {
  readonly deployment: Deployment;
  readonly signer: Signer;
  readonly contract: Contract;
  readonly confirmations: number;
  private readonly options: AdjudicatorClientOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Serialises submissions (see the file comment). */
  private submitting: Promise<unknown> = Promise.resolve();
  /** Per channel, the last checkpointed state read and the transaction it was read from. */
  private readonly checkpoints = new Map<Bytes32, { readonly hash: string; readonly state: StateTuple }>();

  /** Use `AdjudicatorClient.connect` unless the chain id is already known. */
  constructor(signer: Signer, deployment: Deployment, options: AdjudicatorClientOptions = {}) {
    if (signer.provider === null) throw new Error("the signer must be connected to a provider");
    this.signer = signer;
    this.deployment = deployment;
    this.options = options;
    this.confirmations = Math.max(1, options.confirmations ?? 1);
    this.sleep = options.sleep ?? defaultSleep;
    this.contract = new Contract(deployment.adjudicator, adjudicatorAbi() as never, signer);
  }

  /** A client for the adjudicator at `address`, reading the chain id from the signer's provider. */
  static async connect(signer: Signer, address: Address, options: AdjudicatorClientOptions = {}): Promise<AdjudicatorClient> {
    if (signer.provider === null) throw new Error("the signer must be connected to a provider");
    let chainId: bigint;
    try {
      chainId = (await signer.provider.getNetwork()).chainId;
    } catch (error) {
      throw toChainError(error, "getNetwork");
    }
    return new AdjudicatorClient(signer, { chainId, adjudicator: address }, options);
  }

  get address(): Address {
    return this.deployment.adjudicator;
  }

  get provider(): Provider {
    return this.signer.provider as Provider;
  }

  /** The id the adjudicator gives a channel with `params` (computed locally, as the contract does). */
  channelIdOf(params: Params): Bytes32 {
    return channelIdOf(params, this.deployment.chainId, this.deployment.adjudicator);
  }

  // ------------------------------------------------------------------------------ transactions

  /**
   * Opens the channel, with the caller's first deposit of `amount` of asset `assetIndex` when
   * `amount > 0` (approving the token first if the allowance is short).
   */
  async open(params: Params, assetIndex = 0, amount = 0n): Promise<TxOutcome & { readonly channelId: Bytes32 }> {
    if (amount > 0n) await this.ensureAllowance(this.assetAt(params, assetIndex), amount);
    const outcome = await this.send("open", [paramsTuple(params), assetIndex, amount]);
    return { ...outcome, channelId: this.channelIdOf(params) };
  }

  /** Deposits `amount` of asset `assetIndex` for the caller, approving the token first if needed. */
  async deposit(params: Params, assetIndex: number, amount: bigint): Promise<TxOutcome> {
    await this.ensureAllowance(this.assetAt(params, assetIndex), amount);
    return this.send("deposit", [paramsTuple(params), assetIndex, amount]);
  }

  /**
   * Pays out the withdrawals of an agreed state without closing; the state becomes the checkpoint.
   * The state's locks go along: the adjudicator checks them against the signed root. The adjudicator
   * derives what was already paid from the previous checkpointed state: `checkpoint`, which a party
   * takes from its store (see checkpoint.ts), or, when omitted, the one read from the chain
   * (`checkpointedState`: an event search, for a party that lost its store).
   */
  async withdraw(params: Params, signed: SignedState, checkpoint?: Checkpoint): Promise<TxOutcome> {
    const [sig0, sig1] = signaturesOf(signed, "withdraw");
    const previous = checkpoint === undefined ? await this.checkpointedState(this.channelIdOf(params)) : checkpoint;
    return this.send("withdraw", [paramsTuple(params), stateTuple(signed.state), sig0, sig1, lockTuples(signed.state.locks), previous === null ? NO_CHECKPOINT : checkpointTuple(previous)]);
  }

  /** Closes at once with an agreed final state. */
  async closeCooperatively(params: Params, signed: SignedState): Promise<TxOutcome> {
    return this.sendState("closeCooperatively", params, signed);
  }

  /** Registers an agreed state with its locks; the challenge period starts (a final state concludes at once). */
  async forceClose(params: Params, signed: SignedState): Promise<TxOutcome> {
    return this.sendState("forceClose", params, signed);
  }

  /** Registers "no state": everyone gets back what it holds (only before any checkpoint). */
  async forceCloseWithoutState(params: Params): Promise<TxOutcome> {
    return this.send("forceCloseWithoutState", [paramsTuple(params)]);
  }

  /** Answers a dispute with an agreed state of a higher nonce (and its locks). */
  async challenge(params: Params, signed: SignedState): Promise<TxOutcome> {
    return this.sendState("challenge", params, signed);
  }

  /** Pays out a disputed channel after its deadline: `nets` and `locks` of the registered state. */
  async settle(params: Params, nets: readonly bigint[], locks: readonly Lock[]): Promise<TxOutcome> {
    return this.send("settle", [paramsTuple(params), [...nets], lockTuples(locks)]);
  }

  /** Records `keccak256(secret)` as revealed at this block's time (a no-op if it already was). */
  async revealSecret(secret: Bytes32): Promise<TxOutcome> {
    return this.send("revealSecret", [secret]);
  }

  /** Pays the caller its claimable balance of `token`. */
  async claim(token: Address): Promise<TxOutcome> {
    return this.send("claim", [token]);
  }

  /** As the token's controller: moves a frozen holder's claimable balance to `recipient`. */
  async recoverClaimable(token: Address, holder: Address, recipient: Address): Promise<TxOutcome> {
    return this.send("recoverClaimable", [token, holder, recipient]);
  }

  /** As the token's controller: pays the movement held from `from` to `to` to `recipient`. */
  async releaseHeld(token: Address, from: Address, to: Address, recipient: Address): Promise<TxOutcome> {
    return this.send("releaseHeld", [token, from, to, recipient]);
  }

  /** As the receiver of a held movement from `from`: takes it once the token's rules allow it. */
  async claimHeld(token: Address, from: Address): Promise<TxOutcome> {
    return this.send("claimHeld", [token, from]);
  }

  /**
   * Approves the adjudicator for `amount` of `token` (or the maximum, per `approval`) unless the
   * allowance already covers it; returns the approval's outcome, or null when none was needed.
   */
  async ensureAllowance(token: Address, amount: bigint): Promise<TxOutcome | null> {
    const erc20 = new Contract(token, erc20Abi() as never, this.signer);
    let allowance: bigint;
    try {
      allowance = (await erc20.getFunction("allowance")(await this.signer.getAddress(), this.address)) as bigint;
    } catch (error) {
      throw toChainError(error, "allowance");
    }
    if (allowance >= amount) return null;
    const value = this.options.approval === "unlimited" ? MaxUint256 : amount;
    // As deep as every other transaction: an approval a reorganisation drops would revert the deposit after it.
    return this.submit("approve", () => erc20.getFunction("approve").send(this.address, value), this.confirmations);
  }

  // ------------------------------------------------------------------------------------- views

  async channel(channelId: Bytes32): Promise<ChannelRecord> {
    const [phase, nonce, deadline] = (await this.view("channel", [channelId])) as [bigint, bigint, bigint];
    return { phase: CHANNEL_PHASES[Number(phase)] ?? "None", nonce, deadline };
  }

  /**
   * What the channel holds of asset `assetIndex` (its index in the channel's parameters), and what was
   * withdrawn: by `checkpoint` (from the caller's store, see checkpoint.ts), or, when omitted, by the
   * checkpointed state read from the chain (`checkpointedState`: an event search).
   */
  async holdings(channelId: Bytes32, assetIndex: number, checkpoint?: Checkpoint): Promise<Holdings> {
    const [held, record] = await Promise.all([this.view("holdings", [channelId, assetIndex]) as Promise<[bigint, bigint]>, this.channel(channelId)]);
    if (record.phase === "Concluded") return { available0: 0n, available1: 0n, paid0: 0n, paid1: 0n };
    const known = checkpoint === undefined ? await this.checkpointedState(channelId) : checkpoint;
    const paid = known === null ? undefined : checkpointTuple(known)[2][assetIndex];
    return { available0: held[0], available1: held[1], paid0: paid?.[2] ?? 0n, paid1: paid?.[3] ?? 0n };
  }

  /**
   * The channel's checkpointed state — the state of its last withdrawal, as the contract's struct —
   * or null when nothing was withdrawn. The adjudicator keeps only its digest's fingerprint, so it is
   * read from the input of the transaction that emitted the last `Withdrawn` event (searched back
   * from the head to `fromBlock`, by default the `startBlock` option: see `lastEvent`);
   * CHECKPOINT_UNREADABLE when that transaction is not a direct call of `withdraw`. A party with a
   * store knows this state already (checkpoint.ts): this is for one that lost it.
   */
  async checkpointedState(channelId: Bytes32, fromBlock?: number): Promise<StateTuple | null> {
    const iface = interfaceOf("Adjudicator");
    // An open channel's record names its checkpoint's nonce: 0 is "never withdrawn", no search needed.
    const record = await this.channel(channelId);
    if ((record.phase === "Open" || record.phase === "None") && record.nonce === 0n) return null;
    const last = await this.lastEvent("Withdrawn", channelId, fromBlock, "checkpointedState");
    if (last === null) return null;
    const cached = this.checkpoints.get(channelId);
    if (cached?.hash === last.transactionHash) return cached.state;
    const nonce = iface.parseLog({ topics: [...last.topics], data: last.data })!.args.getValue("nonce") as bigint;
    let input: string | undefined;
    try {
      const tx = await this.provider.getTransaction(last.transactionHash);
      if (tx?.to?.toLowerCase() === this.address.toLowerCase()) input = tx.data;
    } catch (error) {
      throw toChainError(error, "getTransaction");
    }
    const call = input === undefined ? null : iface.parseTransaction({ data: input });
    const s = call?.name === "withdraw" ? (call.args[1] as unknown as readonly [string, bigint, readonly (readonly [string, bigint, bigint, bigint])[], string, boolean]) : null;
    if (s === null || s[1] !== nonce || s[0].toLowerCase() !== channelId.toLowerCase()) {
      throw new ChainError("CHECKPOINT_UNREADABLE", `the state of withdrawal ${nonce} is not in transaction ${last.transactionHash}`, {
        action: "checkpointedState",
        transactionHash: last.transactionHash,
      });
    }
    const state: StateTuple = [s[0].toLowerCase(), s[1], s[2].map((a) => [a[0] as Address, a[1], a[2], a[3]]), s[3].toLowerCase(), s[4]];
    this.checkpoints.set(channelId, { hash: last.transactionHash, state });
    return state;
  }

  async claimableOf(token: Address, holder: Address): Promise<bigint> {
    return (await this.view("claimableOf", [token, holder])) as bigint;
  }

  /** What is held of a restricted `token` moving from `from` to `to`, awaiting the controller. */
  async heldOf(token: Address, from: Address, to: Address): Promise<bigint> {
    return (await this.view("heldOf", [token, from, to])) as bigint;
  }

  /** When the secret of `hashlock` was revealed on chain (0 if never). */
  async secretRevealedAt(hashlock: Bytes32): Promise<bigint> {
    return (await this.view("secretRevealedAt", [hashlock])) as bigint;
  }

  /**
   * The adjudicator's notion of "now": the timestamp a transaction sent now would get — the `pending`
   * block's, which follows the chain's clock even when nothing is mined (a local chain mines only on
   * transactions, so its latest block's time stands still) — or the latest block's where the RPC
   * has no pending block.
   */
  async chainTime(): Promise<bigint> {
    try {
      const [latest, pending] = await Promise.all([this.provider.getBlock("latest"), this.pendingTimestamp()]);
      if (latest === null) throw new Error("no latest block");
      const mined = BigInt(latest.timestamp);
      return pending !== null && pending > mined ? pending : mined;
    } catch (error) {
      throw toChainError(error, "getBlock");
    }
  }

  /** The pending block's timestamp, read raw (ethers cannot parse a pending block without a number); null without one. */
  private async pendingTimestamp(): Promise<bigint | null> {
    const provider = this.provider as Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };
    if (typeof provider.send !== "function") return null;
    const block = (await provider.send("eth_getBlockByNumber", ["pending", false]).catch(() => null)) as { timestamp?: unknown } | null;
    return typeof block?.timestamp === "string" && /^0x[0-9a-fA-F]+$/.test(block.timestamp) ? BigInt(block.timestamp) : null;
  }

  /**
   * The outcome of the channel's latest `StateRegistered` event (the on-chain record keeps only a
   * fingerprint; `settle` needs the nets and the locks, which the event carries), or null when no
   * state was ever registered. Searches back from the head to `fromBlock` (e.g. the block the
   * channel was opened in; by default the `startBlock` option: see `lastEvent`).
   */
  async registeredOutcome(channelId: Bytes32, fromBlock?: number): Promise<RegisteredOutcome | null> {
    const iface = interfaceOf("Adjudicator");
    const last = await this.lastEvent("StateRegistered", channelId, fromBlock, "registeredOutcome");
    if (last === null) return null;
    const parsed = iface.parseLog({ topics: [...last.topics], data: last.data })!;
    const locks = Array.from(parsed.args.getValue("locks") as LockResult[], lockOf);
    return {
      nonce: parsed.args.getValue("nonce") as bigint,
      deadline: parsed.args.getValue("deadline") as bigint,
      nets: Array.from(parsed.args.getValue("nets") as bigint[]),
      locksRoot: locksRootOf(locks),
      locks,
      blockNumber: last.blockNumber,
      transactionHash: last.transactionHash,
    };
  }

  // ----------------------------------------------------------------------------------- internals

  /**
   * The channel's latest `event`, searched back from the head to `fromBlock` (or the `startBlock`
   * option; LOG_START_UNKNOWN without either) in ranges of at most `maxLogRange` blocks, stopping at
   * the first range that has one; LOG_RANGE_REFUSED, naming the range, when the provider refuses one.
   */
  private async lastEvent(event: "Withdrawn" | "StateRegistered", channelId: Bytes32, fromBlock: number | undefined, action: string): Promise<Log | null> {
    const start = fromBlock ?? this.options.startBlock;
    if (start === undefined || !Number.isSafeInteger(start) || start < 0) {
      throw new ChainError("LOG_START_UNKNOWN", `${action}: no block to search ${event} events from (pass the channel's opening block, or configure startBlock)`, { action });
    }
    const range = Math.max(1, Math.floor(this.options.maxLogRange ?? DEFAULT_MAX_LOG_RANGE));
    const topics = [interfaceOf("Adjudicator").getEvent(event)!.topicHash, channelId];
    let head: number;
    try {
      head = await this.provider.getBlockNumber();
    } catch (error) {
      throw toChainError(error, "getBlockNumber");
    }
    for (let to = head; to >= start; to -= range) {
      const from = Math.max(start, to - range + 1);
      let logs: Log[];
      try {
        logs = await this.provider.getLogs({ address: this.address, topics, fromBlock: from, toBlock: to });
      } catch (error) {
        const cause = toChainError(error, "getLogs");
        if (cause.code === "NETWORK") throw cause;
        throw new ChainError("LOG_RANGE_REFUSED", `${action}: the provider refused ${event} events of blocks ${from}–${to} (${to - from + 1} blocks; lower maxLogRange)`, { action, cause: error });
      }
      const last = logs.at(-1);
      if (last !== undefined) return last;
    }
    return null;
  }

  private assetAt(params: Params, assetIndex: number): Address {
    const asset = params.assets[assetIndex];
    // The contract would revert InvalidAssetIndex; no allowance can be checked without a token.
    if (asset === undefined) {
      throw new ChainError("REVERTED", `asset index ${assetIndex} is out of range`, {
        action: "deposit",
        revert: {
          name: "InvalidAssetIndex",
          signature: "InvalidAssetIndex(uint256)",
          selector: interfaceOf("Adjudicator").getError("InvalidAssetIndex")!.selector,
          args: [BigInt(assetIndex)],
          namedArgs: { assetIndex: BigInt(assetIndex) },
          data: "0x",
        },
      });
    }
    return asset;
  }

  private async view(method: string, args: unknown[]): Promise<unknown> {
    try {
      return await this.contract.getFunction(method).staticCall(...args);
    } catch (error) {
      throw toChainError(error, method);
    }
  }

  private sendState(method: "closeCooperatively" | "forceClose" | "challenge", params: Params, signed: SignedState): Promise<TxOutcome> {
    const [sig0, sig1] = signaturesOf(signed, method);
    const args: unknown[] = [paramsTuple(params), stateTuple(signed.state), sig0, sig1];
    // A final state has no locks; every other call checks the lock list against the signed root.
    if (method !== "closeCooperatively") args.push(lockTuples(signed.state.locks));
    return this.send(method, args);
  }

  private send(method: string, args: unknown[]): Promise<TxOutcome> {
    return this.submit(method, () => this.contract.getFunction(method).send(...args), this.confirmations);
  }

  private progress(progress: TxProgress): void {
    try {
      this.options.onProgress?.(progress);
    } catch {
      // A display must never break a transaction.
    }
  }

  /** Submits (serialised), then waits for `confirmations`; every failure becomes a ChainError. */
  private async submit(
    action: string,
    sendTx: () => Promise<ContractTransactionResponse>,
    confirmations: number,
  ): Promise<TxOutcome> {
    const previous = this.submitting;
    const sent = previous.catch(() => undefined).then(sendTx);
    this.submitting = sent.catch(() => undefined);
    let tx: ContractTransactionResponse;
    try {
      tx = await sent;
    } catch (error) {
      throw toChainError(error, action);
    }
    this.progress({ stage: "submitted", action, hash: tx.hash });
    return this.waitFor(action, tx, confirmations);
  }

  private async waitFor(action: string, tx: ContractTransactionResponse, confirmations: number): Promise<TxOutcome> {
    const timeoutMs = this.options.timeoutMs ?? 600_000;
    const started = Date.now();
    let receipt: TransactionReceipt | null;
    try {
      receipt = await tx.wait(1, timeoutMs);
    } catch (error) {
      throw await this.failure(error, action, tx);
    }
    if (receipt === null) throw new ChainError("UNKNOWN", `${action}: no receipt`, { action, transactionHash: tx.hash });
    this.progress({ stage: "mined", action, hash: tx.hash, blockNumber: receipt.blockNumber });

    // Further confirmations: poll the head (no long-lived subscriptions), re-reading the receipt so
    // that a transaction moved by a reorganisation is followed to its new block.
    while (confirmations > 1) {
      let head: number;
      try {
        head = await this.provider.getBlockNumber();
      } catch (error) {
        throw toChainError(error, action, tx.hash);
      }
      if (head - receipt.blockNumber + 1 >= confirmations) {
        const current = await this.provider.getTransactionReceipt(tx.hash).catch(() => null);
        if (current !== null && current.blockHash === receipt.blockHash) break;
        if (current !== null) {
          if (current.status !== 1) throw await this.failure(new Error("reverted after a reorganisation"), action, tx, current);
          receipt = current;
          continue;
        }
      }
      if (Date.now() - started > timeoutMs) {
        throw new ChainError("TIMEOUT", `${action}: ${confirmations} confirmations not reached in ${timeoutMs} ms`, {
          action,
          transactionHash: tx.hash,
        });
      }
      await this.sleep(this.options.pollIntervalMs ?? 1_000);
    }
    this.progress({ stage: "confirmed", action, hash: tx.hash, blockNumber: receipt.blockNumber, confirmations });
    return { action, hash: tx.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt };
  }

  /**
   * A transaction that failed after submission. A mined revert carries no reason, so the call is
   * replayed on the state after its block (best effort: usually the same reason, e.g. StaleNonce
   * when the counterparty's transaction got in first).
   */
  private async failure(error: unknown, action: string, tx: ContractTransactionResponse, receipt?: TransactionReceipt): Promise<ChainError> {
    const chainError = toChainError(error, action, tx.hash);
    if (chainError.code !== "REVERTED" || chainError.revert?.name !== null) return chainError;
    const blockNumber = receipt?.blockNumber ?? (error as { receipt?: TransactionReceipt }).receipt?.blockNumber;
    try {
      await this.provider.call({ to: tx.to, from: tx.from, data: tx.data, value: tx.value, blockTag: blockNumber });
    } catch (replayed) {
      const decoded = toChainError(replayed, action, tx.hash);
      if (decoded.code === "REVERTED") return decoded;
    }
    return chainError;
  }
}
