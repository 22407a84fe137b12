// Compliance facts of a venue with many holders, built directly (no chain): one registry, one rules
// contract, one token; every holder has KYC, AML and COUNTRY attributes and a balance. For the saved
// mirror's scale test and bench/mirror.ts.
import type { AttributeRecord, ComplianceFacts } from "../../client/protocol/compliance/index.js";
import type { Address } from "../../client/protocol/types.js";

const JURISDICTION = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const RULES = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" as Address;
const TOKEN = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" as Address;
const VALIDATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;

/** A lowercase address key of holder `i`, scattered so insertion order is not sorted order. */
function holderKey(i: number): string {
  const mixed = (Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, "0");
  return `0x${mixed}${i.toString(16).padStart(32, "0")}`;
}

/** The contracts the facts track (defaults: fixed addresses) and their cursor (default: at block `holders`). */
export interface LargeFactsOptions {
  readonly jurisdiction?: Address;
  readonly rules?: Address;
  readonly token?: Address;
  readonly cursor?: ComplianceFacts["cursor"];
}

export function largeComplianceFacts(holders: number, options: LargeFactsOptions = {}): ComplianceFacts {
  const { jurisdiction = JURISDICTION, rules = RULES, token = TOKEN } = options;
  const attributes = new Map<string, ReadonlyMap<bigint, AttributeRecord>>();
  const balances = new Map<string, bigint>();
  const expiresAt = 4_000_000_000n;
  for (let i = 0; i < holders; i++) {
    const key = holderKey(i);
    attributes.set(
      key,
      new Map([
        [1n, { value: 1n, expiresAt, validator: VALIDATOR, generation: 0 }],
        [2n, { value: 1n, expiresAt, validator: VALIDATOR, generation: 0 }],
        [4n, { value: BigInt(100 + (i % 700)), expiresAt, validator: VALIDATOR, generation: 0 }],
      ]),
    );
    balances.set(key, BigInt(i + 1) * 10n ** 18n);
  }
  const approval = { approved: true, generation: 0 };
  const validator = VALIDATOR.toLowerCase();
  return {
    cursor: options.cursor === undefined ? { blockNumber: BigInt(holders), logIndex: 3 } : options.cursor,
    jurisdictions: new Map([
      [jurisdiction.toLowerCase(), { approvals: new Map([1n, 2n, 4n].map((type) => [type, new Map([[validator, approval]])])), attributes }],
    ]),
    rules: new Map([
      [rules.toLowerCase(), { jurisdiction, accreditationRequired: false, blockedCountries: new Set([408n]), lockups: new Map([[holderKey(0), 4_000_000_000n]]), maxBalance: 0n }],
    ]),
    tokens: new Map([
      [token.toLowerCase(), { rules, paused: false, frozen: new Set([holderKey(1)]), balances, controllers: new Set([validator]), treasury: null }],
    ]),
  };
}
