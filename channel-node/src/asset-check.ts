/**
 * Fail closed on restricted tokens the node does not mirror. The compliance mirror knows the rules of
 * the Clearline RestrictedTokens listed under `contracts.securities`; every other channel asset is
 * treated as unrestricted. Before the node trades an asset listed as unrestricted, it asks the token
 * whether it is in fact a restricted one — any of the standard restriction views answering is enough:
 *
 * - ERC-1404: `detectTransferRestriction(address,address,uint256) → uint8`;
 * - ERC-7943 (uRWA): `canTransfer(address,address,uint256) → bool`, `canSend(address) → bool`;
 * - ERC-3643 (T-REX): `identityRegistry() → address`, `compliance() → address`.
 *
 * A view "answers" when the call succeeds and returns a word of the declared type; a revert means the
 * token lacks it. Any other failure (the RPC is down) is thrown: a token the node could not examine
 * is not assumed plain.
 */
import { AbiCoder, id, isCallException, type Provider } from "ethers";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import type { Address } from "../../client/protocol/index.js";

export type RestrictionStandard = "ERC-1404" | "ERC-7943" | "ERC-3643";

export type AssetCheckErrorCode = "RESTRICTED_TOKEN_NOT_MIRRORED" | "ASSET_NOT_A_CONTRACT";

/** A channel asset the node must not trade; its message carries the code (` (code=…)`). */
export class AssetCheckError<C extends AssetCheckErrorCode = AssetCheckErrorCode> extends CodedError<C, { readonly token: Address; readonly views: readonly string[] }> {
  override readonly name: string = "AssetCheckError";
  constructor(
    code: C,
    readonly token: Address,
    message: string,
    /** The restriction views the token answered (RESTRICTED_TOKEN_NOT_MIRRORED). */
    readonly views: readonly string[] = [],
  ) {
    super(code, message, { token, views });
  }
}

/** Whether `error` is an AssetCheckError, optionally of a given code. */
export function isAssetCheckError<C extends AssetCheckErrorCode>(error: unknown, code?: C): error is AssetCheckError<C> {
  return isCodedError(error, AssetCheckError, code);
}

interface Probe {
  readonly standard: RestrictionStandard;
  readonly signature: string;
  readonly args: readonly { type: string; value: unknown }[];
  readonly returns: "uint8" | "bool" | "address";
}

// Arbitrary distinct accounts: the answer does not matter, only that the view exists.
const A = "0x000000000000000000000000000000000000dEaD";
const B = "0x000000000000000000000000000000000000bEEF";
const PROBES: readonly Probe[] = [
  { standard: "ERC-1404", signature: "detectTransferRestriction(address,address,uint256)", args: [{ type: "address", value: A }, { type: "address", value: B }, { type: "uint256", value: 1n }], returns: "uint8" },
  { standard: "ERC-7943", signature: "canTransfer(address,address,uint256)", args: [{ type: "address", value: A }, { type: "address", value: B }, { type: "uint256", value: 1n }], returns: "bool" },
  { standard: "ERC-7943", signature: "canSend(address)", args: [{ type: "address", value: A }], returns: "bool" },
  { standard: "ERC-3643", signature: "identityRegistry()", args: [], returns: "address" },
  { standard: "ERC-3643", signature: "compliance()", args: [], returns: "address" },
];

const WORD_LIMIT: Record<Probe["returns"], bigint> = { uint8: 1n << 8n, bool: 2n, address: 1n << 160n };

/** The restriction views `token` answers, e.g. `["ERC-1404 detectTransferRestriction(address,address,uint256)"]`. */
export async function restrictionViewsOf(provider: Pick<Provider, "call">, token: Address): Promise<string[]> {
  const coder = AbiCoder.defaultAbiCoder();
  const found: string[] = [];
  for (const probe of PROBES) {
    const data = id(probe.signature).slice(0, 10) + coder.encode(probe.args.map((a) => a.type), probe.args.map((a) => a.value)).slice(2);
    let result: string;
    try {
      result = await provider.call({ to: token, data });
    } catch (error) {
      if (isCallException(error)) continue;
      throw error;
    }
    // A word of the declared type: 32 bytes whose value fits it (a catch-all fallback returning
    // nothing or garbage does not count).
    if (result.length >= 66 && BigInt(result.slice(0, 66)) < WORD_LIMIT[probe.returns]) found.push(`${probe.standard} ${probe.signature}`);
  }
  return found;
}

/**
 * Refuses (AssetCheckError) a channel asset listed as unrestricted that is not a contract, or that
 * answers a restriction view: the node cannot mirror its rules, so it could not keep its payments
 * compliant. Resolves when every asset is a plain token.
 */
export async function assertUnrestrictedAssets(provider: Pick<Provider, "call" | "getCode">, assets: readonly Address[]): Promise<void> {
  for (const token of assets) {
    if ((await provider.getCode(token)) === "0x") {
      throw new AssetCheckError("ASSET_NOT_A_CONTRACT", token, `channel asset ${token} is not a contract on this chain`);
    }
    const views = await restrictionViewsOf(provider, token);
    if (views.length > 0) {
      throw new AssetCheckError(
        "RESTRICTED_TOKEN_NOT_MIRRORED",
        token,
        `channel asset ${token} is a restricted token (${views.join("; ")}) whose rules the node cannot mirror; remove it from contracts.cash (only Clearline RestrictedTokens can be listed under contracts.securities)`,
        views,
      );
    }
  }
}
