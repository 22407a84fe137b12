// Puts the trading desk beside the channel engine on the transport: trading messages go to the desk
// (or are refused TRADING_DISABLED when the node has no trading configured), the rest to the engine.
import { PROTOCOL_VERSION } from "../../../client/protocol/wire.js";
import type { SessionHandler } from "../transport.js";
import { TradingDesk } from "./desk.js";

export function withTrading(engine: SessionHandler, desk: TradingDesk | undefined): SessionHandler {
  return {
    onAuthenticated(session) {
      engine.onAuthenticated(session);
      desk?.onAuthenticated(session);
    },
    onClosed(session) {
      engine.onClosed(session);
      desk?.onClosed(session);
    },
    async onMessage(session, message) {
      if (!TradingDesk.handles(message)) return engine.onMessage(session, message);
      if (desk !== undefined) return desk.onMessage(session, message);
      session.send({ v: PROTOCOL_VERSION, type: "order_refused", id: message.id, code: "TRADING_DISABLED", message: "this venue takes no orders" });
    },
  };
}
