// The trading desk's options shared by the node-level trading tests: the fixtures' market and venue
// key, no restricted token tracked, the chain's time fixed at NOW, unlimited funds, default bounds.
// Each test overrides what it is about.
import { pino } from "pino";
import { emptyComplianceFacts, nobleVerifier } from "../../client/protocol/index.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { DEFAULT_DESK_BOUNDS, type DeskOptions } from "../../channel-node/src/trading/desk.js";
import type { OrderLogStore } from "../../channel-node/src/trading/log-store.js";
import { DOMAIN, MARKET, NOW, venue } from "./fixtures.js";

export function deskOptions(store: OrderLogStore, overrides: Partial<DeskOptions> = {}): DeskOptions {
  return {
    store,
    markets: [MARKET],
    domain: DOMAIN,
    signer: venue,
    verifier: nobleVerifier,
    facts: emptyComplianceFacts,
    now: () => NOW,
    clock: () => 0,
    bounds: DEFAULT_DESK_BOUNDS,
    cancelOnDisconnect: false,
    fundsOf: () => 10n ** 30n,
    holdingsOf: () => 0n,
    logger: pino({ level: "silent" }),
    metrics: createMetrics(),
    ...overrides,
  };
}
