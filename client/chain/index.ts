/** The chain side shared by the venue's node and the investor's client (docs/chain.md). */
export * from "./abi.js";
export * from "./errors.js";
export * from "./adjudicator.js";
export * from "./tuples.js";
export * from "./checkpoint.js";
export * from "./watcher.js";
export * from "./watchtower.js";
