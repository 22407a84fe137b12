// The node's refusals — of the desk (DeskRefusal), of an external engine's fill (EngineRefusal), of a
// console request (ConsoleRefusal) — are CodedErrors whose message is the text that leaves the node
// as is (no code suffix: the code has its own field), and each guard answers its own class only, and
// only for the code asked, though the desk and the engine share codes with each other and the core.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { CodedError } from "../../client/protocol/coded-error.js";
import { ProtocolError } from "../../client/protocol/errors.js";
import { TradingError } from "../../client/protocol/trading/errors.js";
import { ConsoleRefusal, checkConsoleAccess, isConsoleRefusal } from "../../channel-node/src/console/access.js";
import { LoginError } from "../../channel-node/src/login-check.js";
import { DeskRefusal, isDeskRefusal, refusalOf, type Restriction } from "../../channel-node/src/trading/errors.js";
import { EngineRefusal, isEngineRefusal } from "../../channel-node/src/trading/external/errors.js";

const restriction: Restriction = { code: 3, rule: "ERC-1404 rule 3", message: "the receiver is not eligible" };

const caught = (run: () => void): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal");
};

describe("the node's refusals", () => {
  it("are CodedErrors whose message is the short message, with the rule or the request in their details", () => {
    const desk = new DeskRefusal("NOT_COMPLIANT", "the order breaks ERC-1404 rule 3 for 0xab", restriction);
    const engine = new EngineRefusal("NOT_COMPLIANT", "the movement 0xab → 0xcd breaks ERC-1404 rule 3", restriction);
    const badHost = caught(() => checkConsoleAccess({ socket: { remoteAddress: "127.0.0.1" }, headers: { host: "attacker.example" } } as unknown as IncomingMessage, undefined));
    const cases: [unknown, string, string, string][] = [
      [desk, "DeskRefusal", "NOT_COMPLIANT", "the order breaks ERC-1404 rule 3 for 0xab"],
      [engine, "EngineRefusal", "NOT_COMPLIANT", "the movement 0xab → 0xcd breaks ERC-1404 rule 3"],
      [badHost, "ConsoleRefusal", "CONSOLE_BAD_HOST", "open the console as http://127.0.0.1:<port>/console/ (or localhost)"],
    ];
    for (const [error, name, code, message] of cases) {
      expect(error).toBeInstanceOf(CodedError);
      expect(error).toMatchObject({ name, code, message, shortMessage: message });
    }
    expect([desk.restriction, desk.details]).toEqual([restriction, { restriction }]);
    expect([engine.restriction, engine.details]).toEqual([restriction, { restriction }]);
    expect(new DeskRefusal("STALE_NONCE", "stale").details).toEqual({});
    expect(new EngineRefusal("BAD_QUANTITY", "bad").details).toEqual({});
    expect([(badHost as ConsoleRefusal).status, (badHost as ConsoleRefusal).details]).toEqual([403, { host: "attacker.example" }]);
    // What the investor is answered: the code, the short message and the rule.
    expect(refusalOf(desk)).toEqual({ code: "NOT_COMPLIANT", message: "the order breaks ERC-1404 rule 3 for 0xab", restriction });
    expect(refusalOf(new DeskRefusal("NOT_RESTING", "order 7 no longer rests"))).toEqual({ code: "NOT_RESTING", message: "order 7 no longer rests" });
  });

  it("answer their own guards only, and only for the code asked", () => {
    const desk = new DeskRefusal("STALE_NONCE", "bad");
    const deskCompliance = new DeskRefusal("NOT_COMPLIANT", "bad", restriction);
    const engine = new EngineRefusal("UNKNOWN_ORDER", "bad");
    const engineCompliance = new EngineRefusal("NOT_COMPLIANT", "bad", restriction);
    const consoleRefusal = new ConsoleRefusal("CONSOLE_NOT_FOUND", 404, "bad");
    const others = [new TradingError("UNKNOWN_ORDER", "bad"), new ProtocolError("MALFORMED", "bad"), new LoginError("BAD_SIGNATURE", "bad"), new Error("bad"), { code: "NOT_COMPLIANT", message: "bad" }];
    const all = [desk, deskCompliance, engine, engineCompliance, consoleRefusal, ...others];

    expect(all.filter((error) => isDeskRefusal(error))).toEqual([desk, deskCompliance]);
    expect(all.filter((error) => isEngineRefusal(error))).toEqual([engine, engineCompliance]);
    expect(all.filter((error) => isConsoleRefusal(error))).toEqual([consoleRefusal]);

    expect(all.filter((error) => isDeskRefusal(error, "NOT_COMPLIANT"))).toEqual([deskCompliance]);
    expect(all.filter((error) => isEngineRefusal(error, "NOT_COMPLIANT"))).toEqual([engineCompliance]);
    expect(all.filter((error) => isEngineRefusal(error, "UNKNOWN_ORDER"))).toEqual([engine]);
    expect([isConsoleRefusal(consoleRefusal, "CONSOLE_NOT_FOUND"), isConsoleRefusal(consoleRefusal, "CONSOLE_UNAUTHORIZED")]).toEqual([true, false]);
    expect([isDeskRefusal(deskCompliance, "STALE_NONCE"), isEngineRefusal(engineCompliance, "ORDER_FILLED")]).toEqual([false, false]);
  });
});
