/**
 * Trading between investors (docs/trading.md): signed orders and cancels, the venue's append-only
 * Merkle log of them (RFC 6962), signed receipts and checkpoints, the price–time order book, replay
 * and the priority audit. Pure functions and plain data, like the rest of the protocol core.
 */
export * from "./errors.js";
export * from "./merkle.js";
export * from "./compact-tree.js";
export * from "./eip712.js";
export * from "./order.js";
export * from "./order-json.js";
export * from "./log-entry.js";
export * from "./receipt.js";
export * from "./book.js";
export * from "./matching.js";
export * from "./replay.js";
export * from "./audit.js";
export * from "./external-matching.js";
export * from "./audit-external.js";
