/**
 * Shared test fixture for the compliance contracts (Jurisdiction, TransferRules, RestrictedToken,
 * CashToken). Usage:
 *
 *   import hre from "hardhat";
 *   const { ethers } = await hre.network.create();
 *   const c = await deployCompliance(ethers);
 *   const alice = await c.makeInvestor();                       // KYC, AML, ACCREDITED, COUNTRY 840
 *   await c.issueAttributes(adjudicatorAddress, { kyc: false, aml: false, accredited: false, country: null, custodian: true });
 *
 * The contract types below are hand-written views of the ABIs (no typechain in this project).
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type {
  AddressLike,
  BaseContract,
  BaseContractMethod,
  BigNumberish,
  BytesLike,
  ContractRunner,
  ContractTransactionResponse,
} from "ethers";
import { timeHelpers, type TimeHelpers } from "./chain.js";

// ------------------------------------------------------------------------------------------ types

/** A view/pure function returning `R`. */
type View<A extends unknown[], R> = BaseContractMethod<A, R, R>;
/** A state-changing function. */
type Send<A extends unknown[]> = BaseContractMethod<A, void, ContractTransactionResponse>;
/** A contract with typed methods whose `connect` keeps the typing. */
export type Typed<M> = Omit<BaseContract, "connect"> & M & { connect(runner: ContractRunner | null): Typed<M> };

interface AccessControlMethods {
  DEFAULT_ADMIN_ROLE: View<[], string>;
  hasRole: View<[role: BytesLike, account: AddressLike], boolean>;
  getRoleAdmin: View<[role: BytesLike], string>;
  grantRole: Send<[role: BytesLike, account: AddressLike]>;
  revokeRole: Send<[role: BytesLike, account: AddressLike]>;
  renounceRole: Send<[role: BytesLike, callerConfirmation: AddressLike]>;
  supportsInterface: View<[interfaceId: BytesLike], boolean>;
}

interface ERC20Methods {
  name: View<[], string>;
  symbol: View<[], string>;
  decimals: View<[], bigint>;
  totalSupply: View<[], bigint>;
  balanceOf: View<[account: AddressLike], bigint>;
  allowance: View<[owner: AddressLike, spender: AddressLike], bigint>;
  transfer: Send<[to: AddressLike, value: BigNumberish]>;
  approve: Send<[spender: AddressLike, value: BigNumberish]>;
  transferFrom: Send<[from: AddressLike, to: AddressLike, value: BigNumberish]>;
}

/** `attributeOf` result (an ethers Result: positional and named). */
export type AttributeView = [value: bigint, expiresAt: bigint, validator: string, valid: boolean] & {
  value: bigint;
  expiresAt: bigint;
  validator: string;
  valid: boolean;
};

export type Jurisdiction = Typed<
  AccessControlMethods & {
    KYC: View<[], bigint>;
    AML: View<[], bigint>;
    ACCREDITED: View<[], bigint>;
    COUNTRY: View<[], bigint>;
    CUSTODIAN: View<[], bigint>;
    addAttributeType: Send<[typeId: BigNumberish, name: string]>;
    approveValidator: Send<[typeId: BigNumberish, validator: AddressLike]>;
    removeValidator: Send<[typeId: BigNumberish, validator: AddressLike]>;
    issueAttribute: Send<[account: AddressLike, typeId: BigNumberish, value: BigNumberish, expiresAt: BigNumberish]>;
    revokeAttribute: Send<[account: AddressLike, typeId: BigNumberish]>;
    multicall: Send<[data: BytesLike[]]>;
    hasValidAttribute: View<[account: AddressLike, typeId: BigNumberish], boolean>;
    hasValidFlag: View<[account: AddressLike, typeId: BigNumberish], boolean>;
    attributeOf: View<[account: AddressLike, typeId: BigNumberish], AttributeView>;
    attributeGeneration: View<[account: AddressLike, typeId: BigNumberish], bigint>;
    isValidator: View<[typeId: BigNumberish, validator: AddressLike], boolean>;
    validatorApproval: View<[typeId: BigNumberish, validator: AddressLike], [approved: boolean, generation: bigint]>;
    attributeTypeExists: View<[typeId: BigNumberish], boolean>;
    attributeTypeName: View<[typeId: BigNumberish], string>;
  }
>;

export type TransferRules = Typed<
  AccessControlMethods & {
    RULES_ADMIN_ROLE: View<[], string>;
    setAccreditationRequired: Send<[required: boolean]>;
    setCountryBlocked: Send<[country: BigNumberish, blocked: boolean]>;
    setLockup: Send<[holder: AddressLike, until: BigNumberish]>;
    setMaxBalance: Send<[maxBalance: BigNumberish]>;
    detect: View<[from: AddressLike, to: AddressLike, value: BigNumberish, receiverBalance: BigNumberish], bigint>;
    detectCustodial: View<[from: AddressLike, to: AddressLike, value: BigNumberish, receiverBalance: BigNumberish], bigint>;
    isCustodian: View<[account: AddressLike], boolean>;
    isSpenderAllowed: View<[spender: AddressLike], boolean>;
    jurisdiction: View<[], string>;
    accreditationRequired: View<[], boolean>;
    isCountryBlocked: View<[country: BigNumberish], boolean>;
    blockedCountries: View<[], bigint[]>;
    lockupOf: View<[holder: AddressLike], bigint>;
    maxBalance: View<[], bigint>;
  }
>;

export type RestrictedToken = Typed<
  AccessControlMethods &
    ERC20Methods & {
      ISSUER_ROLE: View<[], string>;
      CONTROLLER_ROLE: View<[], string>;
      detectTransferRestriction: View<[from: AddressLike, to: AddressLike, value: BigNumberish], bigint>;
      detectCustodialTransferRestriction: View<[from: AddressLike, to: AddressLike, value: BigNumberish], bigint>;
      messageForTransferRestriction: View<[code: BigNumberish], string>;
      mint: Send<[to: AddressLike, amount: BigNumberish]>;
      burn: Send<[from: AddressLike, amount: BigNumberish]>;
      pause: Send<[]>;
      unpause: Send<[]>;
      paused: View<[], boolean>;
      freeze: Send<[account: AddressLike]>;
      unfreeze: Send<[account: AddressLike]>;
      replaceRules: Send<[newRules: AddressLike]>;
      forceTransfer: Send<[from: AddressLike, to: AddressLike, amount: BigNumberish, reason: BytesLike]>;
      setTreasury: Send<[newTreasury: AddressLike]>;
      treasury: View<[], string>;
      isController: View<[account: AddressLike], boolean>;
      isFrozen: View<[account: AddressLike], boolean>;
      rules: View<[], string>;
    }
>;

export type CashToken = Typed<
  ERC20Methods & {
    owner: View<[], string>;
    mint: Send<[to: AddressLike, amount: BigNumberish]>;
  }
>;

// -------------------------------------------------------------------------------------- constants

/** Attribute type ids (docs/compliance.md). */
export const ATTRIBUTE = { KYC: 1n, AML: 2n, ACCREDITED: 3n, COUNTRY: 4n, CUSTODIAN: 5n } as const;
export type AttributeName = keyof typeof ATTRIBUTE;

export const ONE_YEAR = 365n * 24n * 60n * 60n;
export const COUNTRY_US = 840n;
export const COUNTRY_DE = 276n;

// -------------------------------------------------------------------------------------- fixture

/** Which attributes to issue. Defaults describe a fully eligible investor. */
export interface InvestorOptions {
  /** Issue KYC = 1 (default true). */
  kyc?: boolean;
  /** Issue AML = 1 (default true). */
  aml?: boolean;
  /** Issue ACCREDITED = 1 (default true). */
  accredited?: boolean;
  /** Issue COUNTRY = this ISO numeric code; `null` issues none (default 840, US). */
  country?: bigint | number | null;
  /** Issue CUSTODIAN = 1 (default false). */
  custodian?: boolean;
  /** Expiry of every issued attribute (default: latest block + one year). */
  expiresAt?: bigint;
}

export interface DeployComplianceOptions {
  /** Security token decimals (default 18). */
  tokenDecimals?: number;
  /** Cash token decimals (default 6). */
  cashDecimals?: number;
}

export interface ComplianceFixture {
  ethers: HardhatEthers;
  /** Jurisdiction governance, rules admin, token admin/issuer/controller, cash token owner (signer 0). */
  admin: HardhatEthersSigner;
  /** Approved for all five attribute types (signer 1). */
  validator: HardhatEthersSigner;
  jurisdiction: Jurisdiction;
  rules: TransferRules;
  token: RestrictedToken;
  cash: CashToken;
  time: TimeHelpers;
  /** Signers not yet handed out by {@link makeInvestor} (signers 2…). */
  unusedSigners: HardhatEthersSigner[];
  /** Issues the chosen attributes to `account` from `validator`, in one transaction (multicall). */
  issueAttributes(account: AddressLike, options?: InvestorOptions): Promise<void>;
  /** Takes the next unused signer and issues it the chosen attributes (defaults: fully eligible). */
  makeInvestor(options?: InvestorOptions): Promise<HardhatEthersSigner>;
}

/**
 * Deploys Jurisdiction (five attribute types, `validator` approved for each), TransferRules
 * (default configuration: nothing required or blocked), RestrictedToken ("Clearline Security",
 * "CLS") and CashToken ("Clearline USD", "cUSD"). Same wiring as ignition/modules/Compliance.ts.
 */
export async function deployCompliance(
  ethers: HardhatEthers,
  options: DeployComplianceOptions = {},
): Promise<ComplianceFixture> {
  const [admin, validator, ...rest] = await ethers.getSigners();
  if (admin === undefined || validator === undefined) throw new Error("need at least two signers");

  const jurisdiction = (await ethers.deployContract("Jurisdiction", [admin.address], admin)) as unknown as Jurisdiction;
  const jurisdictionAddress = await jurisdiction.getAddress();
  const setup = [
    ...Object.entries(ATTRIBUTE).map(([name, id]) => jurisdiction.interface.encodeFunctionData("addAttributeType", [id, name])),
    ...Object.values(ATTRIBUTE).map((id) => jurisdiction.interface.encodeFunctionData("approveValidator", [id, validator.address])),
  ];
  await (await jurisdiction.multicall(setup)).wait();

  const rules = (await ethers.deployContract("TransferRules", [jurisdictionAddress, admin.address], admin)) as unknown as TransferRules;
  const token = (await ethers.deployContract(
    "RestrictedToken",
    ["Clearline Security", "CLS", options.tokenDecimals ?? 18, admin.address, await rules.getAddress()],
    admin,
  )) as unknown as RestrictedToken;
  const cash = (await ethers.deployContract(
    "CashToken",
    ["Clearline USD", "cUSD", options.cashDecimals ?? 6, admin.address],
    admin,
  )) as unknown as CashToken;

  const time = timeHelpers(ethers);
  const asValidator = jurisdiction.connect(validator);
  const unusedSigners = rest;

  const issueAttributes = async (account: AddressLike, opts: InvestorOptions = {}): Promise<void> => {
    const address = await ethers.resolveAddress(account);
    const expiresAt = opts.expiresAt ?? (await time.latest()) + ONE_YEAR;
    const values: [bigint, bigint][] = [];
    if (opts.kyc ?? true) values.push([ATTRIBUTE.KYC, 1n]);
    if (opts.aml ?? true) values.push([ATTRIBUTE.AML, 1n]);
    if (opts.accredited ?? true) values.push([ATTRIBUTE.ACCREDITED, 1n]);
    const country = opts.country === undefined ? COUNTRY_US : opts.country;
    if (country !== null) values.push([ATTRIBUTE.COUNTRY, BigInt(country)]);
    if (opts.custodian ?? false) values.push([ATTRIBUTE.CUSTODIAN, 1n]);
    if (values.length === 0) return;
    const calls = values.map(([typeId, value]) =>
      asValidator.interface.encodeFunctionData("issueAttribute", [address, typeId, value, expiresAt]),
    );
    await (await asValidator.multicall(calls)).wait();
  };

  const makeInvestor = async (opts: InvestorOptions = {}): Promise<HardhatEthersSigner> => {
    const signer = unusedSigners.shift();
    if (signer === undefined) throw new Error("makeInvestor: no unused signers left; use issueAttributes(address)");
    await issueAttributes(signer, opts);
    return signer;
  };

  return { ethers, admin, validator, jurisdiction, rules, token, cash, time, unusedSigners, issueAttributes, makeInvestor };
}
