// The CLI's settings (options over the environment over the deployment file) and its error reports.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveSettings } from "../../client/cli/settings.js";
import { CliError, describeError, restrictionSentence } from "../../client/cli/errors.js";
import { ClientError } from "../../client/sdk/client.js";
import { ChainError, decodeRevert } from "../../client/chain/errors.js";
import { interfaceOf } from "../../client/chain/abi.js";
import { ComplianceError, ProtocolError, RESTRICTION_TABLE } from "../../client/protocol/index.js";

const dir = mkdtempSync(join(tmpdir(), "clearline-cli-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const ADJUDICATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

function thrown(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error("expected an error");
}

describe("resolveSettings", () => {
  const file = join(dir, "deployment.json");
  writeFileSync(
    file,
    JSON.stringify({
      rpcUrl: "http://127.0.0.1:8545",
      chainId: "31337",
      contracts: { adjudicator: ADJUDICATOR.toLowerCase(), token: "0x8a791620dd6260079bf849dc5567adc3f2fdc318", cash: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", jurisdiction: "0x0000000000000000000000000000000000000001" },
      accounts: { Bob: "0x90f79bf6eb2c4f870365e785982e1f101e93b906" },
      nodeUrl: "ws://127.0.0.1:7545",
    }),
  );

  it("reads defaults from the deployment file and lets options override them", () => {
    const settings = resolveSettings({ deployment: file, dataDir: dir }, {});
    expect(settings.rpcUrl()).toBe("http://127.0.0.1:8545");
    expect(settings.nodeUrl()).toBe("ws://127.0.0.1:7545");
    expect(settings.adjudicator()).toBe(ADJUDICATOR);
    expect(settings.deployment?.security).toBe("0x8A791620dd6260079BF849Dc5567aDC3F2FdC318");
    expect(settings.deployment?.accounts.bob).toBe("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    expect(settings.deployment?.chainId).toBe(31337n);
    const overridden = resolveSettings({ deployment: file, rpc: "http://10.0.0.1:8545", node: "wss://venue.example/ws" }, {});
    expect(overridden.rpcUrl()).toBe("http://10.0.0.1:8545");
    expect(overridden.nodeUrl()).toBe("wss://venue.example/ws");
  });

  it("takes the venue's standby nodes from --fallback-node (repeatable) or fallbackNodeUrls of the deployment file; refuses a URL that is not ws(s)", () => {
    expect(resolveSettings({ deployment: file }, {}).fallbackNodeUrls()).toEqual([]);
    const withStandbys = join(dir, "standbys.json");
    writeFileSync(withStandbys, JSON.stringify({ nodeUrl: "ws://a:1", fallbackNodeUrls: ["ws://b:2", "wss://c/ws"] }));
    expect(resolveSettings({ deployment: withStandbys }, {}).fallbackNodeUrls()).toEqual(["ws://b:2", "wss://c/ws"]);
    expect(resolveSettings({ deployment: withStandbys, fallbackNode: ["ws://d:4"] }, {}).fallbackNodeUrls()).toEqual(["ws://d:4"]);
    const error = thrown(() => resolveSettings({ deployment: file, fallbackNode: ["ws://d:4", "http://e:5"] }, {}).fallbackNodeUrls());
    expect(error.code).toBe("USAGE");
    expect(error.message).toContain("http://e:5");
  });

  it("takes the start block of event searches from the deployment file; refuses one that is not a block number", () => {
    expect(resolveSettings({ deployment: file }, {}).deployment?.startBlock).toBeUndefined();
    const withStart = join(dir, "start-block.json");
    writeFileSync(withStart, JSON.stringify({ nodeUrl: "ws://a:1", startBlock: 19_000_000 }));
    expect(resolveSettings({ deployment: withStart }, {}).deployment?.startBlock).toBe(19_000_000);
    for (const bad of [-1, 1.5, "19000000"]) {
      writeFileSync(withStart, JSON.stringify({ startBlock: bad }));
      const error = thrown(() => resolveSettings({ deployment: withStart }, {}));
      expect(error.code).toBe("BAD_DEPLOYMENT");
      expect(error.message).toContain("startBlock");
    }
  });

  it("bounds the investor's invoices: defaults, options, and typed refusals of bad values", () => {
    expect(resolveSettings({ deployment: file }, {}).invoices).toEqual({ maxPending: 1_000, ttlMs: 3_600_000 });
    expect(resolveSettings({ deployment: file, maxInvoices: "0", invoiceTtl: "90" }, {}).invoices).toEqual({ maxPending: 0, ttlMs: 90_000 });
    expect(resolveSettings({ deployment: file }, {}).archiveOldStore).toBe(false);
    expect(resolveSettings({ deployment: file, archiveOldStore: true }, {}).archiveOldStore).toBe(true);
    for (const [option, value] of [["maxInvoices", "-1"], ["maxInvoices", "1e3"], ["maxInvoices", "1000001"], ["invoiceTtl", "0"], ["invoiceTtl", "2592001"], ["invoiceTtl", "1.5"]] as const) {
      const error = thrown(() => resolveSettings({ deployment: file, [option]: value }, {}));
      expect(error.code).toBe("USAGE");
      expect(error.message).toContain(value);
    }
  });

  it("names what is missing and where it may come from", () => {
    const settings = resolveSettings({ deployment: undefined, dataDir: dir }, {});
    // no default deployment file in the repository's working directory is assumed here
    if (settings.deployment === undefined) {
      const error = thrown(() => settings.rpcUrl());
      expect(error.code).toBe("MISSING_SETTING");
      expect(error.message).toBe("no JSON-RPC URL: pass --rpc <url> or a deployment file (--deployment, default .clearline/deployment.json)");
    }
    const bare = join(dir, "bare.json");
    writeFileSync(bare, "{}");
    expect(thrown(() => resolveSettings({ deployment: bare }, {}).nodeUrl()).message).toBe(`no node URL: pass --node <ws url> or add nodeUrl to ${bare}`);
    expect(thrown(() => resolveSettings({ deployment: join(dir, "absent.json") }, {})).code).toBe("BAD_DEPLOYMENT");
    expect(thrown(() => resolveSettings({ deployment: file, node: "http://x" }, {}).nodeUrl()).code).toBe("USAGE");
  });

  it("takes the key from --key or CLEARLINE_KEY and never echoes it", () => {
    expect(resolveSettings({ deployment: file }, { CLEARLINE_KEY: KEY }).privateKey()).toBe(KEY);
    expect(resolveSettings({ deployment: file, key: KEY.slice(2) }, { CLEARLINE_KEY: "0x" + "1".repeat(64) }).privateKey()).toBe(KEY);
    expect(thrown(() => resolveSettings({ deployment: file }, {}).privateKey()).message).toBe("no investor key: set CLEARLINE_KEY (preferred) or pass --key <hex>");
    const typo = KEY.slice(0, -1) + "z";
    const error = thrown(() => resolveSettings({ deployment: file }, { CLEARLINE_KEY: typo }).privateKey());
    expect(error.code).toBe("INVALID_KEY");
    expect(error.message).not.toContain(typo.slice(2, 20));
    expect(JSON.stringify(describeError(error))).not.toContain(typo.slice(2, 20));
  });
});

describe("describeError", () => {
  it("names the ERC-1404 rule of a venue's compliance refusal", () => {
    const error = new ClientError("REJECTED", "the venue rejected the payment", {
      code: "NON_COMPLIANT",
      message: "Receiver lacks valid KYC/AML",
      restriction: { code: 0x57, rule: "RECEIVER_NOT_ELIGIBLE", message: "Receiver lacks valid KYC/AML" },
    });
    expect(describeError(error)).toEqual({
      code: "REJECTED",
      source: "venue",
      reason: "NON_COMPLIANT",
      restriction: { code: 0x57, rule: "RECEIVER_NOT_ELIGIBLE", message: "Receiver lacks valid KYC/AML" },
      message: "refused: receiver lacks valid KYC/AML (ERC-1404 0x57 RECEIVER_NOT_ELIGIBLE)",
      exitCode: 1,
    });
  });

  it("has a sentence for every code of the table", () => {
    for (const entry of RESTRICTION_TABLE.filter((e) => e.code !== 0)) {
      const sentence = restrictionSentence({ code: entry.code, rule: entry.name, message: entry.message });
      expect(sentence).toMatch(new RegExp(`^refused: [a-zA-Z].* \\(ERC-1404 0x[0-9a-f]{2} ${entry.name}\\)$`));
    }
    expect(restrictionSentence({ code: 0x52, rule: "INSUFFICIENT_BALANCE", message: "Sender's balance is insufficient" })).toBe(
      "refused: sender's balance is insufficient (ERC-1404 0x52 INSUFFICIENT_BALANCE)",
    );
  });

  it("names the rule of a token's on-chain refusal (TransferRestricted revert)", () => {
    const data = interfaceOf("RestrictedToken").encodeErrorResult("TransferRestricted", [0xa1, "Receiver address is frozen"]);
    const error = new ChainError("REVERTED", "settle: reverted TransferRestricted(161, Receiver address is frozen)", { action: "settle", revert: decodeRevert(data) });
    const described = describeError(error);
    expect(described.message).toBe("refused on chain (settle): receiver address is frozen (ERC-1404 0xa1 RECEIVER_FROZEN)");
    expect(described.restriction).toEqual({ code: 0xa1, rule: "RECEIVER_FROZEN", message: "Receiver address is frozen" });
  });

  it("explains the dispute reverts a person meets", () => {
    const data = interfaceOf("Adjudicator").encodeErrorResult("ChallengePeriodNotOver", [1_800_000_000n]);
    const error = new ChainError("REVERTED", "settle: reverted ChallengePeriodNotOver(1800000000)", { action: "settle", revert: decodeRevert(data) });
    expect(describeError(error).message).toBe("on-chain settle failed: the challenge period is not over: it ends 2027-01-15T08:00:00Z (ChallengePeriodNotOver)");
    expect(describeError(error).revert).toEqual({ name: "ChallengePeriodNotOver", args: ["1800000000"] });
  });

  it("maps local refusals and usage errors to their exit codes", () => {
    expect(describeError(new ProtocolError("INSUFFICIENT_BALANCE", "participant 1 would hold −5 of asset 1"))).toMatchObject({ code: "INSUFFICIENT_BALANCE", source: "protocol", exitCode: 1 });
    expect(describeError(new ComplianceError(0x54, { token: "t", from: "a", to: "b", amount: 1n })).message).toBe("refused: token transfers are paused (ERC-1404 0x54 PAUSED)");
    expect(describeError(new CliError("INVALID_AMOUNT", "x")).exitCode).toBe(2);
    expect(describeError(new CliError("STORE_BUSY", "x")).exitCode).toBe(1);
    expect(describeError(new Error("boom"))).toMatchObject({ code: "INTERNAL", exitCode: 1 });
  });
});
