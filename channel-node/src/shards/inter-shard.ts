// Wires the payments between shards (remote-routes.ts) into a sharded node: the link's answering side
// on the node's own port (LINK_PATH), its dialling side, and the engine's routing through them.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { Signer } from "../../../client/protocol/signing.js";
import type { Deployment } from "../../../client/protocol/types.js";
import type { ChannelEngine } from "../engine.js";
import type { NodeMetrics } from "../metrics.js";
import type { ShardConfig } from "./config.js";
import { DEFAULT_LINK_SETTINGS, LinkDialer, LinkServer, linkMetrics } from "./link.js";
import { LINK_PATH } from "./link-wire.js";
import { RemoteRoutes } from "./remote-routes.js";
import type { ShardMap } from "./shard-map.js";

/** How often, by default, the payer's shard asks the others for the secrets of its unclaimed locks. */
export const DEFAULT_SECRET_PULL_MS = 2_000;

export interface InterShardOptions {
  readonly engine: ChannelEngine;
  readonly map: ShardMap;
  readonly config: ShardConfig;
  readonly signer: Signer;
  readonly deployment: Deployment;
  readonly responseTimeoutMs: number;
  /** The bound of one message on the link (the node's maxFrameBytes). */
  readonly maxMessageBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

export interface InterShard {
  /** The transport's upgrades: the link at LINK_PATH. */
  readonly upgrades: Readonly<Record<string, (request: IncomingMessage, socket: Duplex, head: Buffer) => void>>;
  /** Starts asking the other shards for secrets (once the node serves). */
  start(): void;
  stop(): void;
}

export function interShard(options: InterShardOptions): InterShard {
  const { engine, map, config, signer, deployment, logger } = options;
  const settings = {
    maxLinks: config.link?.maxLinks ?? DEFAULT_LINK_SETTINGS.maxLinks,
    maxPending: DEFAULT_LINK_SETTINGS.maxPending,
    maxPendingPerAddress: DEFAULT_LINK_SETTINGS.maxPendingPerAddress,
    maxInFlight: config.link?.maxInFlight ?? DEFAULT_LINK_SETTINGS.maxInFlight,
    maxMessageBytes: options.maxMessageBytes,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
  };
  const identity = { self: map.self.id, signer, deployment, settings, logger };
  const metrics = linkMetrics(options.metrics);
  const dialer = new LinkDialer(identity, metrics);
  const routes = engine.interShard(
    (port) => new RemoteRoutes({ map, dialer, port, responseTimeoutMs: options.responseTimeoutMs, pullIntervalMs: config.link?.secretPullMs ?? DEFAULT_SECRET_PULL_MS, logger }),
  );
  const server = new LinkServer({ ...identity, answer: routes.answer, refusalOf: routes.refusalOf }, metrics);
  return {
    upgrades: { [LINK_PATH]: (request, socket, head) => server.handleUpgrade(request, socket, head) },
    start: () => routes.start(),
    stop: () => {
      routes.stop();
      dialer.close();
      server.close();
    },
  };
}
