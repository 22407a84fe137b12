// The handshake's shard check: wraps the node's session handler so that an investor another shard
// serves gets WRONG_SHARD naming that shard's URL (client/protocol/session.ts) instead of `welcome`,
// and the connection closes; nothing reaches the engine, so nothing changes. Its messages before the
// answer are refused (NOT_AUTHENTICATED): a client waits for `welcome` anyway.
import { Counter } from "prom-client";
import type { Logger } from "pino";
import { WRONG_SHARD, wrongShardMessage } from "../../../client/protocol/session.js";
import { PROTOCOL_VERSION, WireError } from "../../../client/protocol/wire.js";
import type { NodeMetrics } from "../metrics.js";
import type { Session, SessionHandler } from "../transport.js";
import type { ShardMap } from "./shard-map.js";

/** Close code of a connection sent to its shard (4000–4999: the application's own). */
export const WRONG_SHARD_CLOSE = 4001;

export function shardGate(inner: SessionHandler, map: ShardMap, { logger, metrics }: { readonly logger: Logger; readonly metrics: NodeMetrics }): SessionHandler {
  const redirects = new Counter({ name: "clearline_shard_redirects_total", help: "Authenticated investors sent to the shard that serves them (WRONG_SHARD)", registers: [metrics.registry] });
  const admitted = new WeakSet<Session>();
  const closed = new WeakSet<Session>();
  return {
    onAuthenticated(session) {
      map.shardOf(session.address).then(
        (shard) => {
          if (closed.has(session)) return;
          if (shard.id === map.self.id) {
            admitted.add(session);
            inner.onAuthenticated(session);
            return;
          }
          redirects.inc();
          metrics.rejections.inc({ code: WRONG_SHARD });
          session.send({ v: PROTOCOL_VERSION, type: "error", code: WRONG_SHARD, message: wrongShardMessage({ shard: shard.id, url: shard.url }) });
          session.close(WRONG_SHARD_CLOSE, "wrong shard");
        },
        (error: unknown) => {
          if (closed.has(session)) return;
          logger.warn({ err: error, address: session.address }, "shard map lookup failed");
          metrics.rejections.inc({ code: "UNAVAILABLE" });
          session.send({ v: PROTOCOL_VERSION, type: "error", code: "UNAVAILABLE", message: "the node cannot read its shard map right now; try again" });
          session.close(WRONG_SHARD_CLOSE, "shard map unavailable");
        },
      );
    },
    async onMessage(session, message) {
      if (!admitted.has(session)) throw new WireError("NOT_AUTHENTICATED", "wait for the welcome");
      await inner.onMessage(session, message);
    },
    onClosed(session) {
      closed.add(session);
      if (admitted.has(session)) inner.onClosed(session);
    },
  };
}
