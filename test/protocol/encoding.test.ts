import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AbiCoder, TypedDataEncoder, ZeroAddress, ZeroHash, keccak256 } from "ethers";
import {
  INT128_MAX,
  INT128_MIN,
  MAX_LOCKS,
  UINT128_MAX,
  UINT64_MAX,
  STATE_EIP712_TYPES,
  channelIdOf,
  domainOf,
  domainSeparatorOf,
  hashlockOf,
  isProtocolError,
  locksRootOf,
  paramsFromJson,
  paramsToJson,
  signedStateFromJson,
  signedStateToJson,
  stateDigest,
  stateFromJson,
  stateToJson,
  typedStateOf,
  type Lock,
  type ProtocolErrorCode,
  type State,
} from "../../client/protocol/index.js";
import * as arb from "./arbitraries.js";

/** Runs `fn` and returns the ProtocolError code it throws (fails the test if it throws anything else). */
function codeOf(fn: () => unknown): ProtocolErrorCode | "NONE" {
  try {
    fn();
    return "NONE";
  } catch (error) {
    if (isProtocolError(error)) return error.code;
    throw error;
  }
}

const token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const sampleState: State = {
  channelId: `0x${"ab".repeat(32)}`,
  nonce: 7n,
  allocations: [{ token, net: -5n, withdrawn0: 1n, withdrawn1: 2n }],
  locks: [{ assetIndex: 0, sender: 1, amount: 3n, hashlock: `0x${"11".repeat(32)}`, expiry: 1_000n }],
  isFinal: false,
};

describe("stateDigest", () => {
  it("equals ethers' TypedDataEncoder.hash for random states and domains", () => {
    fc.assert(
      fc.property(arb.state, arb.domain, (state, domain) => {
        expect(stateDigest(state, domain)).toBe(TypedDataEncoder.hash(domain, STATE_EIP712_TYPES, typedStateOf(state)));
      }),
      { numRuns: 300 },
    );
  });

  it("stays exact when states repeat all but one field of an allocation (its hash is cached by content)", () => {
    fc.assert(
      fc.property(arb.state, arb.domain, fc.nat({ max: 3 }), fc.bigInt({ min: 1n, max: 1000n }), (state, domain, field, delta) => {
        stateDigest(state, domain); // caches each allocation's hash
        const [first, ...rest] = state.allocations;
        const changed = { ...first!, token: field === 0 ? ZeroAddress : first!.token, net: first!.net + (field !== 1 ? 0n : first!.net > 0n ? -delta : delta), withdrawn0: first!.withdrawn0 + (field === 2 ? delta : 0n), withdrawn1: first!.withdrawn1 + (field === 3 ? delta : 0n) };
        const next = { ...state, allocations: [changed, ...rest] };
        expect(stateDigest(next, domain)).toBe(TypedDataEncoder.hash(domain, STATE_EIP712_TYPES, typedStateOf(next)));
      }),
      { numRuns: 200 },
    );
  });

  it("binds the domain: another chain or adjudicator gives another digest", () => {
    const domain = domainOf({ chainId: 1n, adjudicator: token });
    const digest = stateDigest(sampleState, domain);
    expect(stateDigest(sampleState, { ...domain, chainId: 2n })).not.toBe(digest);
    expect(stateDigest(sampleState, { ...domain, verifyingContract: ZeroAddress })).not.toBe(digest);
  });

  it("has the domain separator ethers computes", () => {
    fc.assert(
      fc.property(arb.domain, (domain) => {
        expect(domainSeparatorOf(domain)).toBe(TypedDataEncoder.hashDomain(domain));
      }),
    );
  });
});

describe("locksRootOf and hashlockOf", () => {
  it("is zero without locks and keccak256(abi.encode(Lock[])) with some", () => {
    expect(locksRootOf([])).toBe(ZeroHash);
    const locks = sampleState.locks;
    const encoded = AbiCoder.defaultAbiCoder().encode(
      ["tuple(uint8 assetIndex,uint8 sender,uint128 amount,bytes32 hashlock,uint64 expiry)[]"],
      [locks],
    );
    expect(locksRootOf(locks)).toBe(keccak256(encoded));
  });

  it("equals keccak256 of ethers' abi.encode(Lock[]) for random lock lists", () => {
    const coder = AbiCoder.defaultAbiCoder();
    fc.assert(
      fc.property(fc.array(arb.lock, { minLength: 1, maxLength: MAX_LOCKS }), (locks) => {
        const encoded = coder.encode(["tuple(uint8 assetIndex,uint8 sender,uint128 amount,bytes32 hashlock,uint64 expiry)[]"], [locks]);
        expect(locksRootOf(locks)).toBe(keccak256(encoded));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a lock outside its Solidity types as OUT_OF_RANGE", () => {
    const lock = sampleState.locks[0] as Lock;
    expect(() => locksRootOf([{ ...lock, amount: 1n << 128n }])).toThrow(expect.objectContaining({ code: "OUT_OF_RANGE" }));
    expect(() => locksRootOf([{ ...lock, sender: 2 as 0 }])).toThrow(expect.objectContaining({ code: "OUT_OF_RANGE" }));
  });

  it("refuses more than MAX_LOCKS locks", () => {
    const lock = sampleState.locks[0] as Lock;
    expect(codeOf(() => locksRootOf(Array.from({ length: MAX_LOCKS + 1 }, () => lock)))).toBe("LOCK_LIMIT");
  });

  it("hashes a secret as abi.encode(bytes32) does", () => {
    const secret = `0x${"42".repeat(32)}`;
    expect(hashlockOf(secret)).toBe(keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32"], [secret])));
  });
});

describe("channelIdOf", () => {
  it("is keccak256(abi.encode(chainId, adjudicator, params)) and binds chain and adjudicator", () => {
    fc.assert(
      fc.property(arb.params, fc.bigInt({ min: 1n, max: UINT64_MAX }), arb.address, (params, chainId, adjudicator) => {
        const id = channelIdOf(params, chainId, adjudicator);
        const encoded = AbiCoder.defaultAbiCoder().encode(
          ["uint256", "address", "tuple(address[2] participants,address[] assets,uint64 challengePeriod,bytes32 salt)"],
          [chainId, adjudicator, params],
        );
        expect(id).toBe(keccak256(encoded));
        expect(channelIdOf(params, chainId + 1n, adjudicator)).not.toBe(id);
        expect(channelIdOf(params, chainId, ZeroAddress)).not.toBe(id);
      }),
      { numRuns: 50 },
    );
  });
});

describe("JSON", () => {
  const roundTrip = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

  it("round-trips states, signed states and parameters", () => {
    fc.assert(
      fc.property(arb.signedState, (signed) => {
        expect(stateFromJson(roundTrip(stateToJson(signed.state)))).toEqual(signed.state);
        expect(signedStateFromJson(roundTrip(signedStateToJson(signed)))).toEqual(signed);
      }),
      { numRuns: 300 },
    );
    const params = {
      participants: [token, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"] as const,
      assets: [token],
      challengePeriod: 3600n,
      salt: ZeroHash,
    };
    expect(paramsFromJson(roundTrip(paramsToJson(params)))).toEqual(params);
  });

  it("normalises addresses to checksummed and hex to lowercase", () => {
    const json = stateToJson(sampleState);
    const shouted = {
      ...json,
      channelId: json.channelId.toUpperCase().replace("0X", "0x"),
      allocations: json.allocations.map((a) => ({ ...a, token: a.token.toLowerCase() })),
    };
    expect(stateFromJson(shouted)).toEqual(sampleState);
  });

  const json = stateToJson(sampleState);
  const allocation = json.allocations[0]!;
  const jsonLock = json.locks[0]!;
  const cases: [string, unknown, ProtocolErrorCode][] = [
    ["not an object", "state", "MALFORMED"],
    ["a missing field", { ...json, isFinal: undefined }, "MALFORMED"],
    ["an unknown field", { ...json, extra: 1 }, "MALFORMED"],
    ["a number instead of a decimal string", { ...json, nonce: 7 }, "MALFORMED"],
    ["a non-canonical decimal", { ...json, nonce: "07" }, "MALFORMED"],
    ["a negative unsigned", { ...json, nonce: "-1" }, "MALFORMED"],
    ["a bad address checksum", { ...json, allocations: [{ ...allocation, token: token.replace("aa3", "AA3") }] }, "MALFORMED"],
    ["a short channel id", { ...json, channelId: "0x1234" }, "MALFORMED"],
    ["no allocations", { ...json, allocations: [] }, "MALFORMED"],
    ["a lock sender of 2", { ...json, locks: [{ ...jsonLock, sender: 2 }] }, "MALFORMED"],
    ["a nonce above uint64", { ...json, nonce: (UINT64_MAX + 1n).toString() }, "OUT_OF_RANGE"],
    ["a net above int128", { ...json, allocations: [{ ...allocation, net: (INT128_MAX + 1n).toString() }] }, "OUT_OF_RANGE"],
    ["a net below int128", { ...json, allocations: [{ ...allocation, net: (INT128_MIN - 1n).toString() }] }, "OUT_OF_RANGE"],
    ["a withdrawal above uint128", { ...json, allocations: [{ ...allocation, withdrawn1: (UINT128_MAX + 1n).toString() }] }, "OUT_OF_RANGE"],
    ["a lock amount above uint128", { ...json, locks: [{ ...jsonLock, amount: (UINT128_MAX + 1n).toString() }] }, "OUT_OF_RANGE"],
    ["a lock expiry above uint64", { ...json, locks: [{ ...jsonLock, expiry: (UINT64_MAX + 1n).toString() }] }, "OUT_OF_RANGE"],
    ["more than MAX_LOCKS locks", { ...json, locks: Array.from({ length: MAX_LOCKS + 1 }, () => jsonLock) }, "LOCK_LIMIT"],
  ];
  it.each(cases)("rejects %s", (_, value, code) => {
    expect(codeOf(() => stateFromJson(value))).toBe(code);
  });

  it("rejects a signed state with a malformed signature", () => {
    expect(codeOf(() => signedStateFromJson({ state: json, signatures: ["0x1234", null] }))).toBe("MALFORMED");
  });

  const paramsJson = {
    participants: [token, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
    assets: [token],
    challengePeriod: "3600",
    salt: ZeroHash,
  };
  const paramCases: [string, unknown][] = [
    ["the same participant twice", { ...paramsJson, participants: [token, token] }],
    ["a zero participant", { ...paramsJson, participants: [token, ZeroAddress] }],
    ["a duplicate asset", { ...paramsJson, assets: [token, token] }],
    ["a zero asset", { ...paramsJson, assets: [ZeroAddress] }],
    ["a challenge period below the minimum", { ...paramsJson, challengePeriod: "59" }],
    ["a challenge period above the maximum", { ...paramsJson, challengePeriod: (30 * 86_400 + 1).toString() }],
  ];
  it.each(paramCases)("rejects parameters with %s (INVALID_PARAMS)", (_, value) => {
    expect(codeOf(() => paramsFromJson(value))).toBe("INVALID_PARAMS");
  });
  it("rejects parameters with too many assets as MALFORMED", () => {
    expect(codeOf(() => paramsFromJson({ ...paramsJson, assets: Array.from({ length: 5 }, () => token) }))).toBe("MALFORMED");
  });
});
