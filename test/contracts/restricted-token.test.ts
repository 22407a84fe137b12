import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { id, toUtf8Bytes, hexlify, type AddressLike } from "ethers";
import ComplianceModule from "../../ignition/modules/Compliance.js";
import { expectEvent, expectRevert, parseEvents, takeSnapshot } from "../helpers/chain.js";
import {
  ATTRIBUTE,
  COUNTRY_DE,
  COUNTRY_US,
  ONE_YEAR,
  deployCompliance,
  type CashToken,
  type ComplianceFixture,
  type Jurisdiction,
  type RestrictedToken,
  type TransferRules,
} from "../helpers/compliance.js";

/** The code table of docs/compliance.md, written out independently of the contract. */
const CODE = {
  SUCCESS: 0x00,
  INSUFFICIENT_BALANCE: 0x52,
  PAUSED: 0x54,
  SENDER_LOCKED: 0x55,
  SENDER_NOT_ELIGIBLE: 0x56,
  RECEIVER_NOT_ELIGIBLE: 0x57,
  SENDER_FROZEN: 0xa0,
  RECEIVER_FROZEN: 0xa1,
  RECEIVER_NOT_ACCREDITED: 0xa2,
  RECEIVER_COUNTRY_BLOCKED: 0xa3,
  MAX_BALANCE_EXCEEDED: 0xa4,
} as const;
const MESSAGE: Record<number, string> = {
  0x00: "Transfer allowed",
  0x52: "Sender's balance is insufficient",
  0x54: "Token transfers are paused",
  0x55: "Sender's tokens are locked up",
  0x56: "Sender lacks valid KYC/AML",
  0x57: "Receiver lacks valid KYC/AML",
  0xa0: "Sender address is frozen",
  0xa1: "Receiver address is frozen",
  0xa2: "Receiver is not an accredited investor",
  0xa3: "Receiver's country is blocked",
  0xa4: "Transfer would exceed the receiver's maximum balance",
};
const UNKNOWN = "Unknown restriction code";
const COUNTRY_KP = 408n;

function interfaceId(signatures: string[]): string {
  const x = signatures.reduce((acc, sig) => acc ^ BigInt(id(sig).slice(0, 10)), 0n);
  return `0x${x.toString(16).padStart(8, "0")}`;
}

describe("RestrictedToken + TransferRules", () => {
  let c: ComplianceFixture;
  let token: RestrictedToken;
  let rules: TransferRules;
  let admin: HardhatEthersSigner; // governance, issuer, controller, rules admin
  let alice: HardhatEthersSigner; // fully eligible (KYC, AML, ACCREDITED, US), 1000 tokens
  let bob: HardhatEthersSigner; // fully eligible, 1000 tokens
  let carol: HardhatEthersSigner; // fully eligible, no tokens
  let dave: HardhatEthersSigner; // no attributes, no tokens
  let custodian: HardhatEthersSigner; // CUSTODIAN only (stands in for the adjudicator), 500 tokens
  let recovery: HardhatEthersSigner; // no attributes
  let issuerRole: string;
  let controllerRole: string;
  let rulesAdminRole: string;
  let restore: () => Promise<void>;

  beforeAll(async () => {
    const { ethers } = await hre.network.create();
    c = await deployCompliance(ethers);
    ({ token, rules, admin } = c);
    alice = await c.makeInvestor();
    bob = await c.makeInvestor();
    carol = await c.makeInvestor();
    dave = await c.makeInvestor({ kyc: false, aml: false, accredited: false, country: null });
    custodian = await c.makeInvestor({ kyc: false, aml: false, accredited: false, country: null, custodian: true });
    recovery = await c.makeInvestor({ kyc: false, aml: false, accredited: false, country: null });
    await (await token.mint(alice.address, 1000n)).wait();
    await (await token.mint(bob.address, 1000n)).wait();
    await (await token.mint(custodian.address, 500n)).wait();
    issuerRole = await token.ISSUER_ROLE();
    controllerRole = await token.CONTROLLER_ROLE();
    rulesAdminRole = await rules.RULES_ADMIN_ROLE();
    restore = await takeSnapshot(ethers);
  });

  beforeEach(async () => {
    await restore();
  });

  /** detectTransferRestriction says `code`, and an ordinary transfer reverts with it (or succeeds). */
  async function expectTransfer(from: HardhatEthersSigner, to: AddressLike, amount: bigint, code: number): Promise<void> {
    const toAddress = await c.ethers.resolveAddress(to);
    expect(Number(await token.detectTransferRestriction(from.address, toAddress, amount))).toBe(code);
    if (code !== CODE.SUCCESS) {
      await expectRevert(token.connect(from).transfer(toAddress, amount), token, "TransferRestricted", [code, MESSAGE[code]]);
      return;
    }
    const [before, receiverBefore] = [await token.balanceOf(from.address), await token.balanceOf(toAddress)];
    await expectEvent(token.connect(from).transfer(toAddress, amount), token, "Transfer", [from.address, toAddress, amount]);
    expect(await token.balanceOf(from.address)).toBe(before - amount);
    if (toAddress !== from.address) expect(await token.balanceOf(toAddress)).toBe(receiverBefore + amount);
  }

  /** A mint of `amount` to `to` is detected as `code` and, if non-zero, reverts with it. */
  async function expectMint(to: AddressLike, amount: bigint, code: number): Promise<void> {
    const toAddress = await c.ethers.resolveAddress(to);
    expect(Number(await token.detectTransferRestriction(c.ethers.ZeroAddress, toAddress, amount))).toBe(code);
    if (code !== CODE.SUCCESS) {
      await expectRevert(token.mint(toAddress, amount), token, "TransferRestricted", [code, MESSAGE[code]]);
    } else {
      await expectEvent(token.mint(toAddress, amount), token, "Transfer", [c.ethers.ZeroAddress, toAddress, amount]);
    }
  }

  const revoke = async (account: HardhatEthersSigner, typeId: bigint): Promise<void> => {
    await (await c.jurisdiction.connect(c.validator).revokeAttribute(account.address, typeId)).wait();
  };

  // -------------------------------------------------------------------------------------- basics

  describe("deployment", () => {
    it("has the constructor's metadata, roles and rules", async () => {
      expect(await token.name()).toBe("Clearline Security");
      expect(await token.symbol()).toBe("CLS");
      expect(await token.decimals()).toBe(18n);
      expect(await token.rules()).toBe(await rules.getAddress());
      expect(await rules.jurisdiction()).toBe(await c.jurisdiction.getAddress());
      for (const role of [await token.DEFAULT_ADMIN_ROLE(), issuerRole, controllerRole]) {
        expect(await token.hasRole(role, admin.address)).toBe(true);
        expect(await token.hasRole(role, alice.address)).toBe(false);
      }
      expect(await token.totalSupply()).toBe(2500n);
    });

    it("takes decimals from the constructor (0 for a share token) and emits RulesReplaced(0, rules)", async () => {
      const factory = await c.ethers.getContractFactory("RestrictedToken");
      const deployed = await factory.deploy("Share", "SHR", 0, admin.address, await rules.getAddress());
      const receipt = await deployed.deploymentTransaction()?.wait();
      if (receipt === null || receipt === undefined) throw new Error("no receipt");
      const shares = deployed as unknown as RestrictedToken;
      expect(await shares.decimals()).toBe(0n);
      const [event] = parseEvents(receipt, shares, "RulesReplaced");
      expect(event?.args.toArray()).toEqual([c.ethers.ZeroAddress, await rules.getAddress()]);
    });

    it("rejects a zero admin or zero rules", async () => {
      const factory = await c.ethers.getContractFactory("RestrictedToken");
      await expectRevert(factory.deploy("S", "S", 0, c.ethers.ZeroAddress, await rules.getAddress()), token, "InvalidAdmin", [c.ethers.ZeroAddress]);
      await expectRevert(factory.deploy("S", "S", 0, admin.address, c.ethers.ZeroAddress), token, "InvalidRules", [c.ethers.ZeroAddress]);
    });

    it("supports the ERC-165 ids of IRestrictedToken, IERC1404, IERC20 and IAccessControl", async () => {
      const erc1404 = interfaceId(["detectTransferRestriction(address,address,uint256)", "messageForTransferRestriction(uint8)"]);
      const restricted = interfaceId([
        "isController(address)",
        "isFrozen(address)",
        "detectCustodialTransferRestriction(address,address,uint256)",
      ]);
      const erc20 = interfaceId([
        "totalSupply()",
        "balanceOf(address)",
        "transfer(address,uint256)",
        "allowance(address,address)",
        "approve(address,uint256)",
        "transferFrom(address,address,uint256)",
      ]);
      for (const supported of [erc1404, restricted, erc20, "0x7965db0b", "0x01ffc9a7"]) {
        expect(await token.supportsInterface(supported), supported).toBe(true);
      }
      expect(await token.supportsInterface("0xdeadbeef")).toBe(false);
    });
  });

  describe("messageForTransferRestriction", () => {
    it("returns exactly the table's message for every code", async () => {
      for (const code of Object.values(CODE)) {
        expect(await token.messageForTransferRestriction(code)).toBe(MESSAGE[code]);
      }
    });

    it("returns 'Unknown restriction code' for every other code", async () => {
      const known = new Set<number>(Object.values(CODE));
      for (let code = 0; code < 256; code++) {
        if (known.has(code)) continue;
        expect(await token.messageForTransferRestriction(code), `code ${code}`).toBe(UNKNOWN);
      }
    });
  });

  // ------------------------------------------------------------------------------ the ten steps

  describe("evaluation order, one step at a time", () => {
    it("0x00: an eligible investor pays an eligible investor (transfer and transferFrom)", async () => {
      await expectTransfer(alice, bob, 100n, CODE.SUCCESS);
      await (await token.connect(alice).approve(bob.address, 50n)).wait();
      await expectEvent(token.connect(bob).transferFrom(alice.address, carol.address, 50n), token, "Transfer", [
        alice.address,
        carol.address,
        50n,
      ]);
      expect(await token.balanceOf(carol.address)).toBe(50n);
      expect(await token.allowance(alice.address, bob.address)).toBe(0n);
    });

    it("step 1, 0x54: paused blocks transfers, transferFrom and mints, before every other check", async () => {
      await (await token.pause()).wait();
      await expectTransfer(alice, bob, 1n, CODE.PAUSED);
      await (await token.freeze(alice.address)).wait();
      await expectTransfer(dave, alice, 1n, CODE.PAUSED); // frozen receiver, no balance, no KYC: still 0x54
      await expectMint(carol, 1n, CODE.PAUSED);
      await (await token.connect(bob).approve(carol.address, 1n)).wait();
      await expectRevert(token.connect(carol).transferFrom(bob.address, carol.address, 1n), token, "TransferRestricted", [
        CODE.PAUSED,
        MESSAGE[CODE.PAUSED],
      ]);
    });

    it("step 2, 0xA0: a frozen sender, before a frozen receiver", async () => {
      await (await token.freeze(alice.address)).wait();
      await expectTransfer(alice, bob, 1n, CODE.SENDER_FROZEN);
      await (await token.freeze(bob.address)).wait();
      await expectTransfer(alice, bob, 1n, CODE.SENDER_FROZEN);
    });

    it("step 3, 0xA1: a frozen receiver (also for mints), before the balance check", async () => {
      await (await token.freeze(bob.address)).wait();
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_FROZEN);
      await expectTransfer(alice, bob, 5000n, CODE.RECEIVER_FROZEN);
      await expectMint(bob, 1n, CODE.RECEIVER_FROZEN);
    });

    it("step 4, 0x52: an insufficient balance, before eligibility", async () => {
      await expectTransfer(alice, bob, 1001n, CODE.INSUFFICIENT_BALANCE);
      await expectTransfer(dave, dave, 1n, CODE.INSUFFICIENT_BALANCE); // dave has no KYC and no tokens
      await expectTransfer(alice, bob, 1000n, CODE.SUCCESS); // exactly the balance is fine
    });

    it("step 5, 0x56: a sender without valid KYC or without valid AML, before the receiver", async () => {
      await revoke(alice, ATTRIBUTE.KYC);
      await expectTransfer(alice, bob, 1n, CODE.SENDER_NOT_ELIGIBLE);
      await expectTransfer(alice, dave, 1n, CODE.SENDER_NOT_ELIGIBLE); // dave is not eligible either
      await revoke(bob, ATTRIBUTE.AML);
      await expectTransfer(bob, carol, 1n, CODE.SENDER_NOT_ELIGIBLE);
    });

    it("step 5: an expired or voided sender attribute counts as missing", async () => {
      const expiresAt = (await c.time.latest()) + 100n;
      await c.issueAttributes(alice, { accredited: false, country: null, expiresAt }); // re-issue KYC+AML expiring soon
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
      await c.time.increaseTo(expiresAt);
      await expectTransfer(alice, bob, 1n, CODE.SENDER_NOT_ELIGIBLE);
      // bob's AML voided by removing its validator
      await (await c.jurisdiction.removeValidator(ATTRIBUTE.AML, c.validator.address)).wait();
      await expectTransfer(bob, carol, 1n, CODE.SENDER_NOT_ELIGIBLE);
    });

    it("step 6, 0x57: a receiver without valid KYC or AML (also for mints), before the lock-up", async () => {
      await expectTransfer(alice, dave, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await revoke(bob, ATTRIBUTE.AML);
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await expectMint(dave, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await (await rules.setLockup(alice.address, (await c.time.latest()) + ONE_YEAR)).wait();
      await expectTransfer(alice, dave, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
    });

    it("step 7, 0x55: a locked-up sender, strictly until the lock-up time, before accreditation", async () => {
      const until = (await c.time.latest()) + 1000n;
      await (await rules.setLockup(alice.address, until)).wait();
      await expectTransfer(alice, bob, 1n, CODE.SENDER_LOCKED);
      await (await rules.setAccreditationRequired(true)).wait();
      await revoke(bob, ATTRIBUTE.ACCREDITED);
      await expectTransfer(alice, bob, 1n, CODE.SENDER_LOCKED);
      await expectTransfer(carol, alice, 0n, CODE.SUCCESS); // receiving is not affected
      await c.time.increaseTo(until - 2n);
      await expectTransfer(alice, carol, 1n, CODE.SENDER_LOCKED); // view at until-2, tx mined at until-1
      await c.time.setNextBlockTimestamp(until);
      await expect(token.detectTransferRestriction(alice.address, carol.address, 1n)).resolves.toBe(BigInt(CODE.SENDER_LOCKED));
      await (await token.connect(alice).transfer(carol.address, 1n)).wait(); // mined exactly at `until`: free
      expect(await token.balanceOf(carol.address)).toBe(1n);
    });

    it("step 8, 0xA2: a receiver without valid ACCREDITED when required (also for mints), before the country", async () => {
      await revoke(bob, ATTRIBUTE.ACCREDITED);
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS); // not required by default
      await expectEvent(rules.setAccreditationRequired(true), rules, "AccreditationRequirementChanged", [true]);
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_NOT_ACCREDITED);
      await expectMint(bob, 1n, CODE.RECEIVER_NOT_ACCREDITED);
      await (await rules.setCountryBlocked(COUNTRY_US, true)).wait();
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_NOT_ACCREDITED);
      // an expired accreditation counts as missing
      const expiresAt = (await c.time.latest()) + 100n;
      await (await c.jurisdiction.connect(c.validator).issueAttribute(carol.address, ATTRIBUTE.ACCREDITED, 1n, expiresAt)).wait();
      await (await rules.setCountryBlocked(COUNTRY_US, false)).wait();
      await expectTransfer(alice, carol, 1n, CODE.SUCCESS);
      await c.time.increaseTo(expiresAt);
      await expectTransfer(alice, carol, 1n, CODE.RECEIVER_NOT_ACCREDITED);
      // the sender's accreditation does not matter
      await expectTransfer(bob, alice, 1n, CODE.SUCCESS);
    });

    it("step 9, 0xA3: a receiver whose valid COUNTRY is blocked (also for mints), before the maximum balance", async () => {
      await expectEvent(rules.setCountryBlocked(COUNTRY_US, true), rules, "CountryBlockChanged", [COUNTRY_US, true]);
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_COUNTRY_BLOCKED);
      await expectMint(bob, 1n, CODE.RECEIVER_COUNTRY_BLOCKED);
      await (await rules.setMaxBalance(1n)).wait();
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_COUNTRY_BLOCKED);
      await (await rules.setMaxBalance(0n)).wait();
      // a German receiver is fine; the sender's country does not matter
      await c.issueAttributes(carol, { country: COUNTRY_DE });
      await expectTransfer(alice, carol, 1n, CODE.SUCCESS);
      await expectEvent(rules.setCountryBlocked(COUNTRY_US, false), rules, "CountryBlockChanged", [COUNTRY_US, false]);
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
    });

    it("step 9: no valid COUNTRY counts as country 0", async () => {
      await (await rules.setCountryBlocked(COUNTRY_KP, true)).wait();
      await revoke(bob, ATTRIBUTE.COUNTRY);
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS); // 0 is not blocked
      await (await rules.setCountryBlocked(0n, true)).wait();
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_COUNTRY_BLOCKED);
      // carol's US country voided by removing its validator: counts as 0 too
      await (await c.jurisdiction.removeValidator(ATTRIBUTE.COUNTRY, c.validator.address)).wait();
      await expectTransfer(alice, carol, 1n, CODE.RECEIVER_COUNTRY_BLOCKED);
      await (await rules.setCountryBlocked(0n, false)).wait();
      await expectTransfer(alice, carol, 1n, CODE.SUCCESS);
      // a voided country of a blocked value is not blocked
      await (await rules.setCountryBlocked(COUNTRY_US, true)).wait();
      await expectTransfer(alice, carol, 1n, CODE.SUCCESS);
    });

    it("step 10, 0xA4: holdings + amount above the maximum (also for mints); equal is fine; 0 = none", async () => {
      await expectEvent(rules.setMaxBalance(1100n), rules, "MaxBalanceChanged", [1100n]);
      await expectTransfer(alice, bob, 101n, CODE.MAX_BALANCE_EXCEEDED);
      await expectMint(bob, 101n, CODE.MAX_BALANCE_EXCEEDED);
      await expectTransfer(alice, bob, 100n, CODE.SUCCESS); // bob now holds exactly 1100
      await expectTransfer(alice, bob, 1n, CODE.MAX_BALANCE_EXCEEDED);
      await expectMint(carol, 1100n, CODE.SUCCESS);
      await (await rules.setMaxBalance(0n)).wait();
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
    });

    it("to == 0 (a burn) skips the receiver checks; from == 0 (a mint) skips the sender checks", async () => {
      const zero = c.ethers.ZeroAddress;
      await (await rules.setMaxBalance(1n)).wait();
      await (await rules.setAccreditationRequired(true)).wait();
      await (await rules.setCountryBlocked(0n, true)).wait();
      expect(await token.detectTransferRestriction(alice.address, zero, 10n)).toBe(0n);
      expect(await token.detectTransferRestriction(dave.address, zero, 0n)).toBe(BigInt(CODE.SENDER_NOT_ELIGIBLE));
      await (await rules.setLockup(alice.address, (await c.time.latest()) + 100n)).wait();
      expect(await token.detectTransferRestriction(alice.address, zero, 10n)).toBe(BigInt(CODE.SENDER_LOCKED));
      expect(await token.detectTransferRestriction(zero, custodian.address, 10n ** 30n)).toBe(0n);
    });
  });

  // ------------------------------------------------------------------------------------ custody

  describe("custodian semantics (the adjudicator holds a CUSTODIAN attribute)", () => {
    it("a deposit is checked against the investor as sender", async () => {
      await expectTransfer(alice, custodian, 100n, CODE.SUCCESS);
      await revoke(alice, ATTRIBUTE.KYC);
      await expectTransfer(alice, custodian, 1n, CODE.SENDER_NOT_ELIGIBLE);
    });

    it("a deposit into a custodian is allowed during a lock-up; a transfer to an investor is not", async () => {
      await expectEvent(rules.setLockup(alice.address, (await c.time.latest()) + ONE_YEAR), rules, "LockupChanged");
      await expectTransfer(alice, custodian, 100n, CODE.SUCCESS);
      await expectTransfer(alice, bob, 1n, CODE.SENDER_LOCKED);
    });

    it("the custodian itself needs no KYC/AML, accreditation, country, and has no maximum balance", async () => {
      await (await rules.setAccreditationRequired(true)).wait();
      await (await rules.setCountryBlocked(0n, true)).wait();
      await (await rules.setMaxBalance(10n)).wait();
      await expectTransfer(alice, custodian, 600n, CODE.SUCCESS);
      await expectMint(custodian, 1000n, CODE.SUCCESS);
    });

    it("a payout is checked against the investor as receiver", async () => {
      await expectTransfer(custodian, bob, 10n, CODE.SUCCESS);
      await expectTransfer(custodian, dave, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await (await rules.setAccreditationRequired(true)).wait();
      await revoke(bob, ATTRIBUTE.ACCREDITED);
      await expectTransfer(custodian, bob, 1n, CODE.RECEIVER_NOT_ACCREDITED);
      await (await rules.setCountryBlocked(COUNTRY_US, true)).wait();
      await expectTransfer(custodian, carol, 1n, CODE.RECEIVER_COUNTRY_BLOCKED);
      await (await rules.setCountryBlocked(COUNTRY_US, false)).wait();
      await (await rules.setMaxBalance(10n)).wait();
      await expectTransfer(custodian, carol, 11n, CODE.MAX_BALANCE_EXCEEDED);
      await expectTransfer(custodian, carol, 10n, CODE.SUCCESS);
    });

    it("a payout to a locked-up investor is fine (the lock-up binds the sender)", async () => {
      await (await rules.setLockup(bob.address, (await c.time.latest()) + ONE_YEAR)).wait();
      await expectTransfer(custodian, bob, 10n, CODE.SUCCESS);
    });

    it("token-level steps still apply to a custodian: paused and frozen", async () => {
      await (await token.freeze(custodian.address)).wait();
      await expectTransfer(alice, custodian, 1n, CODE.RECEIVER_FROZEN);
      await expectTransfer(custodian, alice, 1n, CODE.SENDER_FROZEN);
      await (await token.unfreeze(custodian.address)).wait();
      await (await token.pause()).wait();
      await expectTransfer(custodian, alice, 1n, CODE.PAUSED);
    });

    it("a lapsed CUSTODIAN attribute removes the exemption", async () => {
      await (await rules.setLockup(alice.address, (await c.time.latest()) + ONE_YEAR)).wait();
      await revoke(custodian, ATTRIBUTE.CUSTODIAN);
      await expectTransfer(alice, custodian, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await expectTransfer(custodian, bob, 1n, CODE.SENDER_NOT_ELIGIBLE);
      // with KYC/AML but no CUSTODIAN, a deposit during the lock-up is an ordinary (locked) transfer
      await c.issueAttributes(custodian);
      await expectTransfer(alice, custodian, 1n, CODE.SENDER_LOCKED);
    });
  });

  // ------------------------------------------------------------------------------ flag values

  describe("KYC, AML, ACCREDITED and CUSTODIAN count only with value 1", () => {
    const issueValue = async (account: HardhatEthersSigner, typeId: bigint, value: bigint): Promise<void> => {
      const expiresAt = (await c.time.latest()) + ONE_YEAR;
      await (await c.jurisdiction.connect(c.validator).issueAttribute(account.address, typeId, value, expiresAt)).wait();
    };

    for (const value of [0n, 2n, 2n ** 256n - 1n]) {
      it(`KYC or AML of value ${value} is no eligibility (sender 0x56, receiver 0x57)`, async () => {
        await issueValue(alice, ATTRIBUTE.KYC, value);
        expect(await c.jurisdiction.hasValidAttribute(alice.address, ATTRIBUTE.KYC)).toBe(true); // valid, wrong value
        await expectTransfer(alice, bob, 1n, CODE.SENDER_NOT_ELIGIBLE);
        await expectTransfer(bob, alice, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
        await expectMint(alice, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
        await issueValue(alice, ATTRIBUTE.KYC, 1n);
        await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
        await issueValue(bob, ATTRIBUTE.AML, value);
        await expectTransfer(bob, alice, 1n, CODE.SENDER_NOT_ELIGIBLE);
        await expectTransfer(alice, bob, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      });
    }

    it("ACCREDITED of value 0 or 2 is no accreditation (0xA2)", async () => {
      await (await rules.setAccreditationRequired(true)).wait();
      for (const value of [0n, 2n]) {
        await issueValue(bob, ATTRIBUTE.ACCREDITED, value);
        await expectTransfer(alice, bob, 1n, CODE.RECEIVER_NOT_ACCREDITED);
      }
      await issueValue(bob, ATTRIBUTE.ACCREDITED, 1n);
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
    });

    it("CUSTODIAN of value 0 or 2 grants no custodian exemption", async () => {
      for (const value of [0n, 2n]) {
        await issueValue(custodian, ATTRIBUTE.CUSTODIAN, value);
        expect(await rules.isCustodian(custodian.address)).toBe(false);
        await expectTransfer(alice, custodian, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
        await expectTransfer(custodian, bob, 1n, CODE.SENDER_NOT_ELIGIBLE);
      }
      await issueValue(custodian, ATTRIBUTE.CUSTODIAN, 1n);
      expect(await rules.isCustodian(custodian.address)).toBe(true);
      await expectTransfer(alice, custodian, 1n, CODE.SUCCESS);
    });
  });

  // ----------------------------------------------------------------------------------- spender

  describe("transferFrom: a spender acting for someone else", () => {
    /** `spender` tries to move `amount` of alice's tokens to `to` with an allowance; `error` or success. */
    async function expectSpend(spender: HardhatEthersSigner, to: HardhatEthersSigner, amount: bigint, error?: string): Promise<void> {
      await (await token.connect(alice).approve(spender.address, amount)).wait();
      const before = [await token.balanceOf(alice.address), await token.balanceOf(to.address)];
      const action = token.connect(spender).transferFrom(alice.address, to.address, amount);
      if (error === undefined) {
        await expectEvent(action, token, "Transfer", [alice.address, to.address, amount]);
        expect(await token.allowance(alice.address, spender.address)).toBe(0n);
        return;
      }
      await expectRevert(action, token, error, [spender.address, alice.address]);
      expect([await token.balanceOf(alice.address), await token.balanceOf(to.address)]).toEqual(before);
      expect(await token.allowance(alice.address, spender.address)).toBe(amount);
    }

    it("an eligible spender may; a frozen one may not (SpenderFrozen), nothing changes", async () => {
      await expectSpend(bob, carol, 10n);
      await (await token.freeze(bob.address)).wait();
      await expectSpend(bob, carol, 10n, "SpenderFrozen");
      // paying itself, the spender is the receiver: the receiver rules refuse it
      await (await token.connect(alice).approve(bob.address, 10n)).wait();
      await expectRevert(token.connect(bob).transferFrom(alice.address, bob.address, 10n), token, "TransferRestricted", [
        CODE.RECEIVER_FROZEN,
        MESSAGE[CODE.RECEIVER_FROZEN],
      ]);
      await expectRevert(token.connect(dave).transferFrom(alice.address, dave.address, 0n), token, "TransferRestricted", [
        CODE.RECEIVER_NOT_ELIGIBLE,
        MESSAGE[CODE.RECEIVER_NOT_ELIGIBLE],
      ]);
    });

    it("a spender without valid KYC/AML (or of a value other than 1) may not (SpenderNotEligible)", async () => {
      expect(await rules.isSpenderAllowed(dave.address)).toBe(false);
      await expectSpend(dave, carol, 10n, "SpenderNotEligible");
      await (await c.jurisdiction.connect(c.validator).issueAttribute(bob.address, ATTRIBUTE.AML, 2n, (await c.time.latest()) + ONE_YEAR)).wait();
      expect(await rules.isSpenderAllowed(bob.address)).toBe(false);
      await expectSpend(bob, carol, 10n, "SpenderNotEligible");
    });

    it("a custodian may spend (pull a deposit, or pay another investor); with a lapsed attribute it may not", async () => {
      expect(await rules.isSpenderAllowed(custodian.address)).toBe(true);
      await expectSpend(custodian, custodian, 100n);
      expect(await token.balanceOf(custodian.address)).toBe(600n);
      await expectSpend(custodian, bob, 100n);
      await revoke(custodian, ATTRIBUTE.CUSTODIAN);
      await expectSpend(custodian, bob, 100n, "SpenderNotEligible");
    });

    it("is checked before the transfer's rules; the transfer's rules still apply to an allowed spender", async () => {
      await (await token.freeze(bob.address)).wait();
      await (await token.pause()).wait();
      await expectSpend(bob, carol, 1n, "SpenderFrozen");
      await (await token.unpause()).wait();
      await (await token.connect(alice).approve(carol.address, 1n)).wait();
      await expectRevert(token.connect(carol).transferFrom(alice.address, dave.address, 1n), token, "TransferRestricted", [
        CODE.RECEIVER_NOT_ELIGIBLE,
        MESSAGE[CODE.RECEIVER_NOT_ELIGIBLE],
      ]);
    });

    it("spender == from is an ordinary transfer: the sender rules apply, not the spender rule", async () => {
      await (await token.connect(alice).approve(alice.address, 10n)).wait();
      await (await token.freeze(alice.address)).wait();
      await expectRevert(token.connect(alice).transferFrom(alice.address, bob.address, 1n), token, "TransferRestricted", [
        CODE.SENDER_FROZEN,
        MESSAGE[CODE.SENDER_FROZEN],
      ]);
      await (await token.unfreeze(alice.address)).wait();
      await expectEvent(token.connect(alice).transferFrom(alice.address, bob.address, 1n), token, "Transfer", [alice.address, bob.address, 1n]);
    });
  });

  // ---------------------------------------------------------------------------------- recovery

  describe("recovery: a custodian pays a controller or the treasury without the receiver rules", () => {
    beforeEach(async () => {
      // the strictest receiver rules: admin (a controller) and recovery have no attributes at all
      await (await rules.setAccreditationRequired(true)).wait();
      await (await rules.setCountryBlocked(0n, true)).wait();
      await (await rules.setMaxBalance(1n)).wait();
    });

    it("a custodian pays a controller; the same payment to anyone else, or from an investor, is refused", async () => {
      expect(await token.isController(admin.address)).toBe(true);
      await expectTransfer(custodian, admin, 300n, CODE.SUCCESS);
      await expectTransfer(custodian, recovery, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await expectTransfer(alice, admin, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      // a controller that is also eligible is paid by an investor only under the receiver rules
      await c.issueAttributes(admin);
      await expectTransfer(alice, admin, 1n, CODE.MAX_BALANCE_EXCEEDED); // admin holds 300 > 1
    });

    it("the issuer designates a treasury (event, view, ISSUER_ROLE only); clearing it ends the exemption", async () => {
      expect(await token.treasury()).toBe(c.ethers.ZeroAddress);
      await expectTransfer(custodian, recovery, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await expectRevert(token.connect(alice).setTreasury(recovery.address), token, "AccessControlUnauthorizedAccount", [alice.address, issuerRole]);
      await expectEvent(token.setTreasury(recovery.address), token, "TreasuryChanged", [c.ethers.ZeroAddress, recovery.address]);
      expect(await token.treasury()).toBe(recovery.address);
      await expectTransfer(custodian, recovery, 200n, CODE.SUCCESS);
      await expectTransfer(alice, recovery, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await expectEvent(token.setTreasury(c.ethers.ZeroAddress), token, "TreasuryChanged", [recovery.address, c.ethers.ZeroAddress]);
      await expectTransfer(custodian, recovery, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
    });

    it("steps 1–4 still apply: paused, frozen custodian, frozen controller, the custodian's balance", async () => {
      await expectTransfer(custodian, admin, 501n, CODE.INSUFFICIENT_BALANCE);
      await (await token.freeze(admin.address)).wait();
      await expectTransfer(custodian, admin, 1n, CODE.RECEIVER_FROZEN);
      await (await token.freeze(custodian.address)).wait();
      await expectTransfer(custodian, admin, 1n, CODE.SENDER_FROZEN);
      await (await token.pause()).wait();
      await expectTransfer(custodian, admin, 1n, CODE.PAUSED);
    });

    it("only a valid custodian and a current controller: a revoked role or a lapsed attribute ends it", async () => {
      await (await token.grantRole(controllerRole, recovery.address)).wait();
      await expectTransfer(custodian, recovery, 1n, CODE.SUCCESS);
      await (await token.revokeRole(controllerRole, recovery.address)).wait();
      await expectTransfer(custodian, recovery, 1n, CODE.RECEIVER_NOT_ELIGIBLE);
      await revoke(custodian, ATTRIBUTE.CUSTODIAN);
      await expectTransfer(custodian, admin, 1n, CODE.SENDER_NOT_ELIGIBLE);
    });

    it("the custodial release check has no such exemption", async () => {
      expect(Number(await token.detectCustodialTransferRestriction(alice.address, admin.address, 1n))).toBe(CODE.RECEIVER_NOT_ELIGIBLE);
    });
  });

  // ------------------------------------------------------------------------- custodial release

  describe("detectCustodialTransferRestriction (a custodian releasing from's tokens to to)", () => {
    const custodial = async (from: AddressLike, to: AddressLike, amount: bigint): Promise<number> =>
      Number(await token.detectCustodialTransferRestriction(from, to, amount));

    it("0x00 between eligible investors; the sender's own balance is not considered", async () => {
      expect(await custodial(alice.address, bob.address, 10n)).toBe(CODE.SUCCESS);
      // carol holds nothing; the tokens sit with the custodian
      expect(await token.balanceOf(carol.address)).toBe(0n);
      expect(await custodial(carol.address, bob.address, 10n ** 30n)).toBe(CODE.SUCCESS);
      expect(Number(await token.detectTransferRestriction(carol.address, bob.address, 1n))).toBe(CODE.INSUFFICIENT_BALANCE);
    });

    it("each rule fails it with its code, in the documented order", async () => {
      await (await token.pause()).wait();
      await (await token.freeze(alice.address)).wait();
      expect(await custodial(alice.address, bob.address, 1n)).toBe(CODE.PAUSED);
      await (await token.unpause()).wait();
      await (await token.freeze(bob.address)).wait();
      expect(await custodial(alice.address, bob.address, 1n)).toBe(CODE.SENDER_FROZEN);
      await (await token.unfreeze(alice.address)).wait();
      expect(await custodial(alice.address, bob.address, 1n)).toBe(CODE.RECEIVER_FROZEN);
      await (await token.unfreeze(bob.address)).wait();

      await revoke(alice, ATTRIBUTE.AML);
      expect(await custodial(alice.address, dave.address, 1n)).toBe(CODE.SENDER_NOT_ELIGIBLE);
      expect(await custodial(bob.address, dave.address, 1n)).toBe(CODE.RECEIVER_NOT_ELIGIBLE);

      await (await rules.setLockup(bob.address, (await c.time.latest()) + ONE_YEAR)).wait();
      await (await rules.setAccreditationRequired(true)).wait();
      await revoke(carol, ATTRIBUTE.ACCREDITED);
      expect(await custodial(bob.address, carol.address, 1n)).toBe(CODE.SENDER_LOCKED);
      await (await rules.setLockup(bob.address, 0n)).wait();
      expect(await custodial(bob.address, carol.address, 1n)).toBe(CODE.RECEIVER_NOT_ACCREDITED);
      await (await rules.setAccreditationRequired(false)).wait();

      await (await rules.setCountryBlocked(COUNTRY_US, true)).wait();
      await (await rules.setMaxBalance(1n)).wait();
      expect(await custodial(bob.address, carol.address, 2n)).toBe(CODE.RECEIVER_COUNTRY_BLOCKED);
      await (await rules.setCountryBlocked(COUNTRY_US, false)).wait();
      expect(await custodial(bob.address, carol.address, 2n)).toBe(CODE.MAX_BALANCE_EXCEEDED);
      expect(await custodial(bob.address, carol.address, 1n)).toBe(CODE.SUCCESS);
    });

    it("the maximum balance counts the receiver's on-chain balance", async () => {
      await (await rules.setMaxBalance(1010n)).wait();
      expect(await custodial(alice.address, bob.address, 10n)).toBe(CODE.SUCCESS);
      expect(await custodial(alice.address, bob.address, 11n)).toBe(CODE.MAX_BALANCE_EXCEEDED);
    });

    it("neither party gets a custodian's exemption, even with a CUSTODIAN attribute", async () => {
      expect(await custodial(custodian.address, bob.address, 1n)).toBe(CODE.SENDER_NOT_ELIGIBLE);
      expect(await custodial(alice.address, custodian.address, 1n)).toBe(CODE.RECEIVER_NOT_ELIGIBLE);
      // an eligible custodian as receiver: the sender's lock-up and the receiver rules still apply
      await c.issueAttributes(custodian, { custodian: true });
      await (await rules.setLockup(alice.address, (await c.time.latest()) + ONE_YEAR)).wait();
      expect(Number(await token.detectTransferRestriction(alice.address, custodian.address, 1n))).toBe(CODE.SUCCESS);
      expect(await custodial(alice.address, custodian.address, 1n)).toBe(CODE.SENDER_LOCKED);
      await (await rules.setLockup(alice.address, 0n)).wait();
      await (await rules.setMaxBalance(500n)).wait();
      expect(await custodial(alice.address, custodian.address, 1n)).toBe(CODE.MAX_BALANCE_EXCEEDED);
    });

    it("rejects a zero sender or receiver with ZeroAddress", async () => {
      await expectRevert(token.detectCustodialTransferRestriction(c.ethers.ZeroAddress, bob.address, 1n), token, "InvalidCustodialRelease", [
        c.ethers.ZeroAddress,
        bob.address,
      ]);
      await expectRevert(token.detectCustodialTransferRestriction(alice.address, c.ethers.ZeroAddress, 1n), token, "InvalidCustodialRelease", [
        alice.address,
        c.ethers.ZeroAddress,
      ]);
    });
  });

  // ---------------------------------------------------------------------------- issuer controls

  describe("issuer controls", () => {
    it("mint and burn are ISSUER_ROLE only", async () => {
      await expectRevert(token.connect(alice).mint(alice.address, 1n), token, "AccessControlUnauthorizedAccount", [alice.address, issuerRole]);
      await expectRevert(token.connect(alice).burn(alice.address, 1n), token, "AccessControlUnauthorizedAccount", [alice.address, issuerRole]);
      await expectRevert(token.mint(c.ethers.ZeroAddress, 1n), token, "ERC20InvalidReceiver", [c.ethers.ZeroAddress]);
    });

    it("burn bypasses the rules: paused, frozen, not eligible; needs no allowance", async () => {
      await (await token.pause()).wait();
      await (await token.freeze(alice.address)).wait();
      await revoke(alice, ATTRIBUTE.KYC);
      await expectEvent(token.burn(alice.address, 400n), token, "Transfer", [alice.address, c.ethers.ZeroAddress, 400n]);
      expect(await token.balanceOf(alice.address)).toBe(600n);
      expect(await token.totalSupply()).toBe(2100n);
      await expectRevert(token.burn(alice.address, 601n), token, "ERC20InsufficientBalance", [alice.address, 600n, 601n]);
    });

    it("pause/unpause: events, double calls, ISSUER_ROLE only", async () => {
      await expectEvent(token.pause(), token, "Paused", [admin.address]);
      expect(await token.paused()).toBe(true);
      await expectRevert(token.pause(), token, "EnforcedPause", []);
      await expectRevert(token.connect(alice).unpause(), token, "AccessControlUnauthorizedAccount", [alice.address, issuerRole]);
      await expectEvent(token.unpause(), token, "Unpaused", [admin.address]);
      expect(await token.paused()).toBe(false);
      await expectRevert(token.unpause(), token, "ExpectedPause", []);
      await expectRevert(token.connect(alice).pause(), token, "AccessControlUnauthorizedAccount", [alice.address, issuerRole]);
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
    });

    it("freeze/unfreeze: events, views, errors, ISSUER_ROLE only", async () => {
      expect(await token.isFrozen(alice.address)).toBe(false);
      await expectEvent(token.freeze(alice.address), token, "AddressFrozen", [alice.address, admin.address]);
      expect(await token.isFrozen(alice.address)).toBe(true);
      await expectRevert(token.freeze(alice.address), token, "AccountAlreadyFrozen", [alice.address]);
      await expectRevert(token.freeze(c.ethers.ZeroAddress), token, "InvalidAccount", [c.ethers.ZeroAddress]);
      await expectRevert(token.connect(bob).unfreeze(alice.address), token, "AccessControlUnauthorizedAccount", [bob.address, issuerRole]);
      await expectEvent(token.unfreeze(alice.address), token, "AddressUnfrozen", [alice.address, admin.address]);
      expect(await token.isFrozen(alice.address)).toBe(false);
      await expectRevert(token.unfreeze(alice.address), token, "AccountNotFrozen", [alice.address]);
      await expectRevert(token.connect(bob).freeze(alice.address), token, "AccessControlUnauthorizedAccount", [bob.address, issuerRole]);
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
    });

    it("replaceRules: a new rules contract takes effect; event; zero and non-issuer rejected", async () => {
      const stricter = (await c.ethers.deployContract("TransferRules", [
        await c.jurisdiction.getAddress(),
        admin.address,
      ])) as unknown as TransferRules;
      await (await stricter.setCountryBlocked(COUNTRY_US, true)).wait();
      await expectTransfer(alice, bob, 1n, CODE.SUCCESS);
      await expectEvent(token.replaceRules(await stricter.getAddress()), token, "RulesReplaced", [
        await rules.getAddress(),
        await stricter.getAddress(),
      ]);
      expect(await token.rules()).toBe(await stricter.getAddress());
      await expectTransfer(alice, bob, 1n, CODE.RECEIVER_COUNTRY_BLOCKED);
      await expectRevert(token.replaceRules(c.ethers.ZeroAddress), token, "InvalidRules", [c.ethers.ZeroAddress]);
      await expectRevert(token.connect(alice).replaceRules(await rules.getAddress()), token, "AccessControlUnauthorizedAccount", [
        alice.address,
        issuerRole,
      ]);
    });

    it("forceTransfer recovers a frozen holder's tokens to a non-eligible address while paused", async () => {
      await (await token.freeze(alice.address)).wait();
      await (await token.pause()).wait();
      await (await rules.setLockup(alice.address, (await c.time.latest()) + ONE_YEAR)).wait();
      const reason = hexlify(toUtf8Bytes("court order 2024-17"));
      const receipt = await expectEvent(token.forceTransfer(alice.address, recovery.address, 700n, reason), token, "ForcedTransferred", [
        admin.address,
        alice.address,
        recovery.address,
        700n,
        reason,
      ]);
      expect(parseEvents(receipt, token, "Transfer").map((e) => e.args.toArray())).toEqual([[alice.address, recovery.address, 700n]]);
      expect(await token.balanceOf(alice.address)).toBe(300n);
      expect(await token.balanceOf(recovery.address)).toBe(700n);
      // while the rules would forbid an ordinary transfer between the same parties
      expect(Number(await token.detectTransferRestriction(alice.address, recovery.address, 1n))).toBe(CODE.PAUSED);
    });

    it("forceTransfer: CONTROLLER_ROLE only, zero addresses and insufficient balance rejected", async () => {
      await expectRevert(token.connect(alice).forceTransfer(alice.address, bob.address, 1n, "0x"), token, "AccessControlUnauthorizedAccount", [
        alice.address,
        controllerRole,
      ]);
      await expectRevert(token.forceTransfer(c.ethers.ZeroAddress, bob.address, 1n, "0x"), token, "ERC20InvalidSender", [c.ethers.ZeroAddress]);
      await expectRevert(token.forceTransfer(alice.address, c.ethers.ZeroAddress, 1n, "0x"), token, "ERC20InvalidReceiver", [c.ethers.ZeroAddress]);
      await expectRevert(token.forceTransfer(alice.address, bob.address, 1001n, "0x"), token, "ERC20InsufficientBalance", [
        alice.address,
        1000n,
        1001n,
      ]);
    });

    it("forceTransfer and burn refuse a custodian's holdings (CustodyProtected); nothing moves", async () => {
      const reason = hexlify(toUtf8Bytes("drain"));
      await expectRevert(token.forceTransfer(custodian.address, recovery.address, 1n, reason), token, "CustodyProtected", [custodian.address]);
      await expectRevert(token.forceTransfer(custodian.address, alice.address, 500n, reason), token, "CustodyProtected", [custodian.address]);
      await expectRevert(token.burn(custodian.address, 1n), token, "CustodyProtected", [custodian.address]);
      expect(await token.balanceOf(custodian.address)).toBe(500n);
      expect(await token.totalSupply()).toBe(2500n);
      // forcing into a custodian, or from an account whose CUSTODIAN attribute lapsed, is possible
      await (await token.forceTransfer(alice.address, custodian.address, 1n, reason)).wait();
      await revoke(custodian, ATTRIBUTE.CUSTODIAN);
      await expectEvent(token.forceTransfer(custodian.address, recovery.address, 501n, reason), token, "ForcedTransferred", [
        admin.address,
        custodian.address,
        recovery.address,
        501n,
        reason,
      ]);
    });

    it("isController follows CONTROLLER_ROLE; an issuer that is not a controller cannot force", async () => {
      expect(await token.isController(admin.address)).toBe(true);
      expect(await token.isController(bob.address)).toBe(false);
      await (await token.grantRole(controllerRole, bob.address)).wait();
      expect(await token.isController(bob.address)).toBe(true);
      await (await token.connect(bob).forceTransfer(alice.address, bob.address, 1n, "0x")).wait();
      expect(await token.balanceOf(bob.address)).toBe(1001n);
      await (await token.revokeRole(controllerRole, admin.address)).wait();
      expect(await token.isController(admin.address)).toBe(false);
      await expectRevert(token.forceTransfer(alice.address, bob.address, 1n, "0x"), token, "AccessControlUnauthorizedAccount", [
        admin.address,
        controllerRole,
      ]);
    });
  });

  // ------------------------------------------------------------------------- rules configuration

  describe("TransferRules configuration", () => {
    it("starts empty and reflects every setter in its views, with events", async () => {
      expect(await rules.accreditationRequired()).toBe(false);
      expect(await rules.maxBalance()).toBe(0n);
      expect(await rules.blockedCountries()).toEqual([]);
      expect(await rules.lockupOf(alice.address)).toBe(0n);

      await expectEvent(rules.setAccreditationRequired(true), rules, "AccreditationRequirementChanged", [true]);
      expect(await rules.accreditationRequired()).toBe(true);
      await expectEvent(rules.setAccreditationRequired(false), rules, "AccreditationRequirementChanged", [false]);
      expect(await rules.accreditationRequired()).toBe(false);

      await (await rules.setCountryBlocked(COUNTRY_KP, true)).wait();
      await (await rules.setCountryBlocked(COUNTRY_US, true)).wait();
      await (await rules.setCountryBlocked(COUNTRY_US, true)).wait(); // idempotent
      expect(await rules.isCountryBlocked(COUNTRY_US)).toBe(true);
      expect([...(await rules.blockedCountries())].sort()).toEqual([COUNTRY_KP, COUNTRY_US].sort());
      await (await rules.setCountryBlocked(COUNTRY_US, false)).wait();
      expect(await rules.isCountryBlocked(COUNTRY_US)).toBe(false);
      expect([...(await rules.blockedCountries())]).toEqual([COUNTRY_KP]);

      await expectEvent(rules.setLockup(alice.address, 12345n), rules, "LockupChanged", [alice.address, 12345n]);
      expect(await rules.lockupOf(alice.address)).toBe(12345n);
      await expectEvent(rules.setMaxBalance(77n), rules, "MaxBalanceChanged", [77n]);
      expect(await rules.maxBalance()).toBe(77n);
    });

    it("every setter is RULES_ADMIN_ROLE only; setLockup rejects the zero address", async () => {
      const r = rules.connect(alice);
      const denied = ["AccessControlUnauthorizedAccount", [alice.address, rulesAdminRole]] as const;
      await expectRevert(r.setAccreditationRequired(true), rules, ...denied);
      await expectRevert(r.setCountryBlocked(1n, true), rules, ...denied);
      await expectRevert(r.setLockup(alice.address, 1n), rules, ...denied);
      await expectRevert(r.setMaxBalance(1n), rules, ...denied);
      await expectRevert(rules.setLockup(c.ethers.ZeroAddress, 1n), rules, "InvalidHolder", [c.ethers.ZeroAddress]);
      // granting the role is governance's (DEFAULT_ADMIN_ROLE) business
      await (await rules.grantRole(rulesAdminRole, alice.address)).wait();
      await (await r.setMaxBalance(5n)).wait();
      expect(await rules.maxBalance()).toBe(5n);
    });

    it("rejects a zero jurisdiction or admin at deployment", async () => {
      const factory = await c.ethers.getContractFactory("TransferRules");
      await expectRevert(factory.deploy(c.ethers.ZeroAddress, admin.address), rules, "InvalidJurisdiction", [c.ethers.ZeroAddress]);
      await expectRevert(factory.deploy(await c.jurisdiction.getAddress(), c.ethers.ZeroAddress), rules, "InvalidAdmin", [c.ethers.ZeroAddress]);
    });

    it("detect takes the receiver's holdings as a parameter and cannot overflow", async () => {
      await (await rules.setMaxBalance(100n)).wait();
      expect(await rules.detect(alice.address, bob.address, 10n, 90n)).toBe(0n);
      expect(await rules.detect(alice.address, bob.address, 10n, 91n)).toBe(BigInt(CODE.MAX_BALANCE_EXCEEDED));
      const max = 2n ** 256n - 1n;
      expect(await rules.detect(c.ethers.ZeroAddress, bob.address, max, max)).toBe(BigInt(CODE.MAX_BALANCE_EXCEEDED));
      expect(await rules.detect(c.ethers.ZeroAddress, bob.address, 1n, max)).toBe(BigInt(CODE.MAX_BALANCE_EXCEEDED));
      await (await rules.setMaxBalance(0n)).wait();
      expect(await rules.detect(c.ethers.ZeroAddress, bob.address, max, max)).toBe(0n);
    });
  });

  // --------------------------------------------------------------------------------- cash token

  describe("CashToken", () => {
    it("is a plain 6-decimal ERC-20 with owner-only mint", async () => {
      const { cash } = c;
      expect([await cash.name(), await cash.symbol(), await cash.decimals(), await cash.owner()]).toEqual([
        "Clearline USD",
        "cUSD",
        6n,
        admin.address,
      ]);
      await expectEvent(cash.mint(dave.address, 5_000_000n), cash, "Transfer", [c.ethers.ZeroAddress, dave.address, 5_000_000n]);
      await expectRevert(cash.connect(dave).mint(dave.address, 1n), cash, "OwnableUnauthorizedAccount", [dave.address]);
      // unrestricted: a holder without any attribute pays another
      await (await cash.connect(dave).transfer(recovery.address, 1_000_000n)).wait();
      expect(await cash.balanceOf(recovery.address)).toBe(1_000_000n);
    });
  });

  // ------------------------------------------------------------------------------------ ignition

  describe("Ignition module Compliance", () => {
    it("deploys and wires the four contracts, registers the five types and approves the deployer", async () => {
      const connection = await hre.network.create();
      const [deployer] = await connection.ethers.getSigners();
      if (deployer === undefined) throw new Error("no signer");
      const result = await connection.ignition.deploy(ComplianceModule, { displayUi: false });
      const deployed = {
        jurisdiction: result.jurisdiction as unknown as Jurisdiction,
        rules: result.rules as unknown as TransferRules,
        token: result.token as unknown as RestrictedToken,
        cash: result.cash as unknown as CashToken,
      };
      const j = deployed.jurisdiction;
      const addresses = {
        jurisdiction: await deployed.jurisdiction.getAddress(),
        rules: await deployed.rules.getAddress(),
      };
      expect(await deployed.token.rules()).toBe(addresses.rules);
      expect(await deployed.rules.jurisdiction()).toBe(addresses.jurisdiction);
      expect([await deployed.token.name(), await deployed.token.symbol(), await deployed.token.decimals()]).toEqual([
        "Clearline Security",
        "CLS",
        18n,
      ]);
      expect(await deployed.cash.decimals()).toBe(6n);
      for (const [name, typeId] of Object.entries(ATTRIBUTE)) {
        expect(await j.attributeTypeName(typeId)).toBe(name);
        expect(await j.isValidator(typeId, deployer.address)).toBe(true);
      }
      expect(await deployed.token.isController(deployer.address)).toBe(true);
      await connection.close();
    });
  });
});
