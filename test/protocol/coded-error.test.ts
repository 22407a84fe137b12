import { describe, expect, expectTypeOf, it } from "vitest";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import { ComplianceError, ProtocolError, isProtocolError } from "../../client/protocol/errors.js";
import { TradingError, isTradingError } from "../../client/protocol/trading/errors.js";
import { StoreError, isStoreError } from "../../client/store/errors.js";
import { ChainError, isChainError } from "../../client/chain/errors.js";
import { ClientError, isClientError } from "../../client/sdk/errors.js";
import { CliError, isCliError } from "../../client/cli/errors.js";
import { ShardError, isShardError } from "../../channel-node/src/shards/errors.js";
import { WireError, isWireError, parseClientMessage } from "../../client/protocol/wire.js";

class PetError extends CodedError<"BIT" | "BARKED"> {
  override readonly name: string = "PetError";
}

describe("CodedError", () => {
  it("carries the code, the short message, the details and the message with the code suffix", () => {
    const error = new PetError("BIT", "the dog bit", { victim: "postman", times: 2n });
    expect(error.code).toBe("BIT");
    expect(error.shortMessage).toBe("the dog bit");
    expect(error.details).toEqual({ victim: "postman", times: 2n });
    expect(error.message).toBe("the dog bit (code=BIT)");
    expect(error.name).toBe("PetError");
    expect(String(error)).toBe("PetError: the dog bit (code=BIT)");
  });

  it("defaults the details to empty and keeps a cause", () => {
    const cause = new Error("underneath");
    expect(new PetError("BARKED", "woof").details).toEqual({});
    expect(new PetError("BARKED", "woof").cause).toBeUndefined();
    expect(new PetError("BARKED", "woof", {}, { cause }).cause).toBe(cause);
  });

  it("leaves the suffix off when asked, with the code, details and cause as ever", () => {
    const cause = new Error("underneath");
    const error = new PetError("BIT", "the dog bit", { times: 1 }, { codeSuffix: false, cause });
    expect([error.message, error.shortMessage, error.code, error.cause]).toEqual(["the dog bit", "the dog bit", "BIT", cause]);
    expect(error.details).toEqual({ times: 1 });
    expect(String(error)).toBe("PetError: the dog bit");
    expect(new PetError("BIT", "the dog bit", {}, { codeSuffix: true }).message).toBe("the dog bit (code=BIT)");
    expect("codeSuffix" in error).toBe(false);
  });

  it("guards by class, with and without a code", () => {
    const error = new PetError("BIT", "the dog bit");
    expect(isCodedError(error, PetError)).toBe(true);
    expect(isCodedError(error, PetError, "BIT")).toBe(true);
    expect(isCodedError(error, PetError, "BARKED")).toBe(false);
    expect(isCodedError(error, CodedError)).toBe(true);
    // The same code on another class, or a plain object that looks alike, is not this class.
    expect(isCodedError(new ProtocolError("MALFORMED", "x"), PetError)).toBe(false);
    expect(isCodedError({ name: "PetError", code: "BIT", message: "the dog bit (code=BIT)" }, PetError)).toBe(false);
    expect(isCodedError(new Error("BIT"), PetError)).toBe(false);
    expect(isCodedError(undefined, PetError)).toBe(false);
  });
});

describe("the domain errors on the base", () => {
  it("keep their names, instanceof, message format and extra fields", () => {
    const protocol = new ProtocolError("BAD_NONCE", "nonce 3 after 1", { nonce: 3n });
    const compliance = new ComplianceError(0x57, { token: "0x01", from: "0x02", to: "0x03", amount: 5n });
    const trading = new TradingError("BOOK_FULL", "the book is full");
    const store = new StoreError("CLOSED", "the store is closed", {}, { cause: "closed earlier" });
    const chain = new ChainError("REVERTED", "challenge: reverted", { action: "challenge", transactionHash: "0xab" });
    for (const [error, name] of [
      [protocol, "ProtocolError"],
      [compliance, "ComplianceError"],
      [trading, "TradingError"],
      [store, "StoreError"],
      [chain, "ChainError"],
    ] as const) {
      expect(error).toBeInstanceOf(CodedError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.message).toBe(`${error.shortMessage} (code=${error.code})`);
    }
    expect(compliance).toBeInstanceOf(ProtocolError);
    expect(compliance.code).toBe("NON_COMPLIANT");
    expect(store.cause).toBe("closed earlier");
    expect([chain.action, chain.transactionHash, chain.revert]).toEqual(["challenge", "0xab", null]);
    expect(new ChainError("UNKNOWN", "x").cause).toBeUndefined();
  });

  it("answer their own guards only, and only for the code asked", () => {
    const protocol = new ProtocolError("BAD_NONCE", "x");
    expect(isProtocolError(protocol)).toBe(true);
    expect(isProtocolError(protocol, "BAD_NONCE")).toBe(true);
    expect(isProtocolError(protocol, "BUSY")).toBe(false);
    expect(isProtocolError(new ComplianceError(0x57, { token: "0x01", from: "0x02", to: "0x03", amount: 1n }), "NON_COMPLIANT")).toBe(true);
    expect(isTradingError(protocol)).toBe(false);
    expect(isTradingError(new TradingError("EXPIRED", "x"), "EXPIRED")).toBe(true);
    expect(isStoreError(new StoreError("FENCED", "x"), "CLOSED")).toBe(false);
    expect(isChainError(new ChainError("TIMEOUT", "x"), "TIMEOUT")).toBe(true);
    expect(isChainError(new StoreError("WRONG_CHAIN", "x"))).toBe(false);
  });

  it("narrow to their class and code (checked by tsc)", () => {
    const caught: unknown = new ComplianceError(0x57, { token: "0x01", from: "0x02", to: "0x03", amount: 1n });
    if (isProtocolError(caught, "NON_COMPLIANT")) expectTypeOf(caught).toEqualTypeOf<ComplianceError>();
    if (isTradingError(caught, "EXPIRED")) expectTypeOf(caught.code).toEqualTypeOf<"EXPIRED">();
    if (isStoreError(caught, "CLOSED")) expectTypeOf(caught.code).toEqualTypeOf<"CLOSED">();
    if (isChainError(caught, "REVERTED")) expectTypeOf(caught.revert).toEqualTypeOf<ChainError["revert"]>();
    expect(isProtocolError(caught, "NON_COMPLIANT")).toBe(true);
  });

  it("leave the errors whose message is shown or sent as is without the suffix, guarded the same way", () => {
    const client = new ClientError("TIMEOUT", "the node did not answer");
    const cli = new CliError("USAGE", "missing --amount", { option: "amount" });
    const shard = new ShardError("SHARD_MAP_INVALID", "no shards", { shard: "A" });
    const wire = new WireError("RATE_LIMITED", "too many messages; slow down");
    for (const [error, name] of [
      [client, "ClientError"],
      [cli, "CliError"],
      [shard, "ShardError"],
      [wire, "WireError"],
    ] as const) {
      expect(error).toBeInstanceOf(CodedError);
      expect(error.name).toBe(name);
      expect(error.message).toBe(error.shortMessage);
    }
    expect([client.message, cli.message, shard.message, wire.message]).toEqual(["the node did not answer", "missing --amount", "no shards", "too many messages; slow down"]);
    expect([cli.details, shard.details, wire.details]).toEqual([{ option: "amount" }, { shard: "A" }, {}]);
    expect([isClientError(client, "TIMEOUT"), isClientError(client, "NO_CHAIN"), isClientError(cli)]).toEqual([true, false, false]);
    expect([isCliError(cli, "USAGE"), isCliError(cli, "STORE_BUSY"), isCliError(shard)]).toEqual([true, false, false]);
    expect([isShardError(shard, "SHARD_MAP_INVALID"), isShardError(shard, "INVESTOR_ELSEWHERE"), isShardError(client)]).toEqual([true, false, false]);
    expect([isWireError(wire, "RATE_LIMITED"), isWireError(wire, "MALFORMED"), isWireError(new ProtocolError("MALFORMED", "x")), isWireError(client)]).toEqual([true, false, false, false]);
  });

  it("WireError: what the peer is sent is the message as the parser wrote it", () => {
    expect(() => parseClientMessage("{")).toThrow(expect.objectContaining({ name: "WireError", code: "MALFORMED", message: "the message is not JSON" }));
  });
});
