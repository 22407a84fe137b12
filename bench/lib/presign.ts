// A lane's proposals for the load generator (bench/load.ts), built and signed ahead of the measured
// window. A lane's payments are deterministic (the next nonce, the same amount), so its next K
// states can be built, digested and signed before the warm-up: in the window the generator then
// only sends text, and its CPU does not compete with the node's for the machine's cores (a real
// investor signs on its own machine). When the pre-signed supply runs out, proposals are built and
// signed live, as before; the counts of each are reported.
import { applyUpdate, stateDigest, stateToJson, type Channel, type Signer, type State, type Update } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";

export class PresignError extends Error {
  readonly code = "INVALID_PRESIGN";
  constructor(message: string) {
    super(message);
    this.name = "PresignError";
  }
}

/** One proposal ready to send: the wire text and the request id inside it. */
export interface Proposal {
  /** `p<nonce>`: unique within the lane's session, and the same text can be sent again after a refusal. */
  readonly id: string;
  readonly text: string;
  /** The state's digest, kept only where the countersignature is to be verified. */
  readonly digest: string | undefined;
}

/** A lane's supply of proposals in nonce order: pre-signed ones first, then built live. */
export class ProposalSupply {
  private readonly ready: Proposal[] = [];
  private taken = 0;
  /** The state after the last proposal built: the next one is built on it. */
  private tip: State;
  private presignedCount = 0;
  private liveCount = 0;

  /**
   * @param keepDigest which nonces' digests to keep (their countersignatures are verified)
   */
  constructor(
    private readonly channel: Channel,
    private readonly signer: Signer,
    private readonly update: Update,
    latest: State,
    private readonly keepDigest: (nonce: bigint) => boolean,
  ) {
    this.tip = latest;
  }

  /** Builds and signs `count` more proposals ahead. */
  presign(count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new PresignError(`a count of proposals to pre-sign must be an integer ≥ 0, got ${count}`);
    if (this.liveCount > 0) throw new PresignError("proposals are pre-signed only before any is built live");
    for (let i = 0; i < count; i++) this.ready.push(this.build());
    this.presignedCount += count;
  }

  /** The next proposal to send (it stays the next until `advance`): pre-signed while any are left, else built now. */
  next(): Proposal {
    if (this.taken < this.ready.length) return this.ready[this.taken]!;
    this.ready.push(this.build());
    this.liveCount += 1;
    return this.ready[this.taken]!;
  }

  /** Whether the proposal `next` returns now was pre-signed. */
  nextIsPresigned(): boolean {
    return this.taken < this.presignedCount;
  }

  /** The node accepted the proposal `next` returned: move on to the one after it. */
  advance(): void {
    if (this.taken >= this.ready.length) throw new PresignError("advance without a proposal taken by next()");
    // Drop the sent proposal's text: a long run holds only what is still ahead.
    (this.ready as (Proposal | undefined)[])[this.taken] = undefined;
    this.taken += 1;
  }

  /** Proposals built and signed ahead. */
  get presigned(): number {
    return this.presignedCount;
  }

  /** Proposals built and signed when needed, after the pre-signed ones ran out. */
  get builtLive(): number {
    return this.liveCount;
  }

  private build(): Proposal {
    const state = applyUpdate(this.channel, this.tip, this.update);
    const digest = stateDigest(state, this.channel.domain);
    const signature = this.signer.sign(digest);
    const id = `p${state.nonce}`;
    const text = JSON.stringify({ v: PROTOCOL_VERSION, type: "propose", id, channelId: this.channel.channelId, state: stateToJson(state), signature });
    this.tip = state;
    return { id, text, digest: this.keepDigest(state.nonce) ? digest : undefined };
  }
}
