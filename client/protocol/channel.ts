/**
 * A channel's fixed configuration and the state it starts from (docs/protocol.md): its parameters
 * checked as the adjudicator's `open` checks them, bound to one chain and adjudicator, its id and
 * EIP-712 domain derived. Pure: plain data in, plain data out, no I/O or clock.
 */
import { ProtocolError } from "./errors.js";
import { channelIdOf, domainOf, validateParams } from "./encoding.js";
import type { Bytes32, Deployment, Eip712Domain, Params, SignedState } from "./types.js";

/** A channel's fixed configuration: its parameters bound to one chain and adjudicator. */
export interface Channel {
  readonly params: Params;
  readonly deployment: Deployment;
  readonly channelId: Bytes32;
  readonly domain: Eip712Domain;
}

/** Checks the parameters as the adjudicator's `open` does (INVALID_PARAMS) and derives id and domain. */
export function channelOf(params: Params, deployment: Deployment): Channel {
  validateParams(params);
  return {
    params,
    deployment,
    channelId: channelIdOf(params, deployment.chainId, deployment.adjudicator),
    domain: domainOf(deployment),
  };
}

/** WRONG_CHAIN unless a peer's claimed deployment is ours (a channel on another chain or adjudicator). */
export function assertSameDeployment(ours: Deployment, theirs: Deployment): void {
  if (ours.chainId !== theirs.chainId || ours.adjudicator.toLowerCase() !== theirs.adjudicator.toLowerCase()) {
    throw new ProtocolError("WRONG_CHAIN", `expected chain ${ours.chainId} and adjudicator ${ours.adjudicator}`, {
      chainId: theirs.chainId,
      adjudicator: theirs.adjudicator,
    });
  }
}

/**
 * The state every channel starts from: nonce 0, nothing moved, no locks. It needs no signatures:
 * on chain it is exactly "no state" (`forceCloseWithoutState`), so it is agreed by construction.
 */
export function genesisState(channel: Channel): SignedState {
  return {
    state: {
      channelId: channel.channelId,
      nonce: 0n,
      allocations: channel.params.assets.map((token) => ({ token, net: 0n, withdrawn0: 0n, withdrawn1: 0n })),
      locks: [],
      isFinal: false,
    },
    signatures: [null, null],
  };
}
