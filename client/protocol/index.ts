/**
 * The Clearline protocol core: pure functions and plain data shared by the client SDK and the
 * channel node (docs/architecture.md). No I/O, no clock, no timers: time and chain facts are inputs.
 */
export * from "./types.js";
export * from "./errors.js";
export * from "./restriction-codes.js";
export * from "./encoding.js";
export * from "./signing.js";
export * from "./compliance/index.js";
export * from "./channel.js";
export * from "./updates.js";
export * from "./transitions.js";
export * from "./signed-states.js";
/** Trading between investors (docs/trading.md), as a namespace: its names (e.g. applyEvent) are its own. */
export * as trading from "./trading/index.js";
