// The node's trading config for an external matching engine (docs/trading.md, "External matching
// engine"): absent or "builtIn" starts no endpoint; "external" takes the engine's settings, each
// defaulted; a bad value is refused when the config is read.
import { describe, expect, it } from "vitest";
import { engineSettingsOf, tradingConfigSchema } from "../../channel-node/src/trading/config.js";
import { ANCHOR, CASH, SECURITY } from "./fixtures.js";

const base = { orderLogAnchor: ANCHOR, markets: [{ security: SECURITY, cash: CASH, lotSize: "1000" }] };

describe("trading.matching and trading.engine", () => {
  it("starts no engine endpoint without external matching", () => {
    expect(engineSettingsOf(tradingConfigSchema.parse(base))).toBeUndefined();
    expect(engineSettingsOf(tradingConfigSchema.parse({ ...base, matching: "builtIn", engine: { port: 9000 } }))).toBeUndefined();
  });

  it("defaults every engine setting, and takes the ones given", () => {
    expect(engineSettingsOf(tradingConfigSchema.parse({ ...base, matching: "external" }))).toEqual({
      host: "127.0.0.1",
      port: 7_546,
      maxMessageBytes: 16_384,
      fillRate: { perSecond: 200, burst: 400 },
      heartbeatMs: 15_000,
      maxBufferedBytes: 4_194_304,
    });
    const settings = engineSettingsOf(tradingConfigSchema.parse({ ...base, matching: "external", engine: { port: 9000, fillRate: { perSecond: 5 } } }));
    expect(settings).toMatchObject({ port: 9000, fillRate: { perSecond: 5, burst: 400 }, host: "127.0.0.1" });
  });

  it("refuses an unknown matching, an unknown engine key and out-of-range bounds", () => {
    for (const bad of [
      { matching: "external-ish" },
      { matching: "external", engine: { tokenFile: "x" } },
      { matching: "external", engine: { port: 70_000 } },
      { matching: "external", engine: { maxMessageBytes: 10 } },
      { matching: "external", engine: { heartbeatMs: 0 } },
      { matching: "external", engine: { fillRate: { perSecond: 0 } } },
    ]) {
      expect(tradingConfigSchema.safeParse({ ...base, ...bad }).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
