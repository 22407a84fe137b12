// The operator's HTTP API behind the admin token (http.ts checks the token and the browser refusal):
// node info and wallet, channels with balances, a channel's history, the venue's deposit, force-close,
// and the cooperative close and withdrawal of admin-actions.ts. Answers are plain objects; http.ts
// serialises them (bigints as decimal strings).
import type { Bytes32 } from "../../client/protocol/index.js";
import type { ChannelStore } from "../../client/store/store.js";
import type { AdminActions } from "./admin-actions.js";
import type { ChannelEngine } from "./engine.js";

export interface AdminRoutesOptions {
  readonly engine: ChannelEngine;
  readonly store: ChannelStore;
  readonly actions: AdminActions;
  /** GET /admin/info (operator-info.ts). */
  readonly info: () => Promise<unknown>;
  /** Registers the latest state on chain; resolves with the transaction hash. */
  readonly forceClose: (channelId: Bytes32) => Promise<string>;
  /** The venue's deposit; resolves with the transaction hash once the node counts it. */
  readonly deposit: (channelId: Bytes32, assetIndex: number, amount: bigint) => Promise<string>;
}

export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A channel as the operator lists it: its investor, status, nonce, balances and dispute. */
export function channelSummary(engine: ChannelEngine, channelId: Bytes32) {
  const record = engine.record(channelId)!;
  return {
    channelId,
    investor: record.params.participants[1],
    status: record.status,
    nonce: record.latest?.state.nonce ?? 0n,
    assets: record.params.assets,
    balances: engine.balances(channelId).map(([venue, investor]) => ({ venue, investor })),
    dispute: record.dispute,
  };
}

/** The router of /admin/* requests (the path without /admin). */
export function adminRoutes({ engine, store, actions, info, forceClose, deposit }: AdminRoutesOptions): (request: { method: string; path: string }) => Promise<AdminAnswer> {
  return async ({ method, path }) => {
    const url = new URL(path, "http://admin");
    const parts = url.pathname.split("/").filter(Boolean);
    if (method === "GET" && parts.length === 1 && parts[0] === "info") return { status: 200, body: await info() };
    if (method === "GET" && parts.length === 1 && parts[0] === "channels") {
      return { status: 200, body: engine.channelIds().map((id) => channelSummary(engine, id)) };
    }
    const channelId = parts[1] as Bytes32 | undefined;
    if (parts[0] !== "channels" || channelId === undefined || engine.record(channelId) === undefined) {
      return { status: 404, body: { code: "ADMIN_NOT_FOUND", error: "no such channel or endpoint" } };
    }
    // The cooperative close and the venue's withdrawal (admin-actions.ts).
    const action = await actions.route(method, parts, url.searchParams);
    if (action !== undefined) return action;
    if (method === "GET" && parts.length === 3 && parts[2] === "history") {
      const history = await store.history(channelId, { newestFirst: true, limit: 100 });
      return { status: 200, body: history.map((entry) => ({ nonce: entry.signed.state.nonce, ...entry.update })) };
    }
    const status = engine.record(channelId)!.status;
    if (method === "POST" && parts.length === 3 && (parts[2] === "close" || parts[2] === "deposit") && status !== "open") {
      // Words before the chain's WrongPhase revert: nothing is sent.
      const words = status === "concluded" ? "the channel is already concluded" : status === "disputed" ? "the channel is already disputed on chain" : "the channel is not open on chain yet";
      return { status: 409, body: { code: `CHANNEL_${status.toUpperCase()}`, error: words } };
    }
    if (method === "POST" && parts.length === 3 && parts[2] === "close") {
      return { status: 200, body: { transactionHash: await forceClose(channelId) } };
    }
    if (method === "POST" && parts.length === 3 && parts[2] === "deposit") {
      const asset = url.searchParams.get("asset") ?? "";
      const amount = url.searchParams.get("amount") ?? "";
      const assets = engine.record(channelId)!.params.assets.length;
      if (!/^(0|[1-9][0-9]{0,2})$/.test(asset) || Number(asset) >= assets || !/^[1-9][0-9]{0,77}$/.test(amount)) {
        return { status: 400, body: { code: "ADMIN_BAD_REQUEST", error: `asset=<index below ${assets}>&amount=<positive integer> required` } };
      }
      const assetIndex = Number(asset);
      return { status: 200, body: { transactionHash: await deposit(channelId, assetIndex, BigInt(amount)) } };
    }
    return { status: 404, body: { code: "ADMIN_NOT_FOUND", error: "no such endpoint" } };
  };
}
