import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import hre from "hardhat";
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expectEvent, expectRevert, takeSnapshot } from "../helpers/chain.js";
import { ATTRIBUTE, ONE_YEAR, deployCompliance, type ComplianceFixture, type Jurisdiction } from "../helpers/compliance.js";

const { KYC, AML, ACCREDITED, COUNTRY, CUSTODIAN } = ATTRIBUTE;

describe("Jurisdiction", () => {
  let c: ComplianceFixture;
  let j: Jurisdiction;
  let admin: HardhatEthersSigner;
  let validator: HardhatEthersSigner; // approved for all five types by the fixture
  let validator2: HardhatEthersSigner; // approved for KYC only (below)
  let alice: HardhatEthersSigner;
  let bob: HardhatEthersSigner;
  let stranger: HardhatEthersSigner;
  let restore: () => Promise<void>;
  let adminRole: string;

  beforeAll(async () => {
    const { ethers } = await hre.network.create();
    c = await deployCompliance(ethers);
    ({ jurisdiction: j, admin, validator } = c);
    const [v2, a, b, s] = c.unusedSigners.splice(0, 4);
    if (v2 === undefined || a === undefined || b === undefined || s === undefined) throw new Error("signers");
    [validator2, alice, bob, stranger] = [v2, a, b, s];
    await (await j.approveValidator(KYC, validator2.address)).wait();
    adminRole = await j.DEFAULT_ADMIN_ROLE();
    restore = await takeSnapshot(ethers);
  });

  beforeEach(async () => {
    await restore();
  });

  const expiry = async (seconds: bigint = ONE_YEAR): Promise<bigint> => (await c.time.latest()) + seconds;

  describe("deployment and constants", () => {
    it("exposes the attribute ids of docs/compliance.md", async () => {
      expect(await j.KYC()).toBe(1n);
      expect(await j.AML()).toBe(2n);
      expect(await j.ACCREDITED()).toBe(3n);
      expect(await j.COUNTRY()).toBe(4n);
      expect(await j.CUSTODIAN()).toBe(5n);
    });

    it("gives the constructor's admin DEFAULT_ADMIN_ROLE and nobody else", async () => {
      expect(await j.hasRole(adminRole, admin.address)).toBe(true);
      expect(await j.hasRole(adminRole, validator.address)).toBe(false);
    });

    it("rejects a zero admin", async () => {
      const factory = await c.ethers.getContractFactory("Jurisdiction");
      await expectRevert(factory.deploy(c.ethers.ZeroAddress), j, "InvalidAdmin", [c.ethers.ZeroAddress]);
    });

    it("the fixture registered the five types and approved the validator for each", async () => {
      for (const [name, id] of Object.entries(ATTRIBUTE)) {
        expect(await j.attributeTypeExists(id)).toBe(true);
        expect(await j.attributeTypeName(id)).toBe(name);
        expect(await j.isValidator(id, validator.address)).toBe(true);
      }
      expect(await j.attributeTypeExists(6n)).toBe(false);
      expect(await j.attributeTypeName(6n)).toBe("");
    });
  });

  describe("addAttributeType", () => {
    it("registers a type and emits AttributeTypeAdded", async () => {
      await expectEvent(j.addAttributeType(42n, "QUALIFIED_PURCHASER"), j, "AttributeTypeAdded", [42n, "QUALIFIED_PURCHASER"]);
      expect(await j.attributeTypeExists(42n)).toBe(true);
      expect(await j.attributeTypeName(42n)).toBe("QUALIFIED_PURCHASER");
    });

    it("rejects id 0, a duplicate id and a non-admin caller", async () => {
      await expectRevert(j.addAttributeType(0n, "ZERO"), j, "InvalidAttributeType", [0n]);
      await expectRevert(j.addAttributeType(KYC, "KYC again"), j, "AttributeTypeAlreadyExists", [KYC]);
      await expectRevert(j.connect(validator).addAttributeType(42n, "X"), j, "AccessControlUnauthorizedAccount", [
        validator.address,
        adminRole,
      ]);
    });
  });

  describe("approveValidator / removeValidator", () => {
    it("approves several validators per type, with events carrying the generation", async () => {
      await expectEvent(j.approveValidator(AML, stranger.address), j, "ValidatorApproved", [AML, stranger.address, 0n]);
      expect(await j.isValidator(AML, stranger.address)).toBe(true);
      expect(await j.isValidator(AML, validator.address)).toBe(true);
      expect(await j.isValidator(KYC, stranger.address)).toBe(false);
      expect(Array.from(await j.validatorApproval(AML, stranger.address))).toEqual([true, 0n]);
    });

    it("rejects an unknown type, a zero validator, a double approval and a non-admin caller", async () => {
      await expectRevert(j.approveValidator(99n, stranger.address), j, "UnknownAttributeType", [99n]);
      await expectRevert(j.approveValidator(KYC, c.ethers.ZeroAddress), j, "InvalidValidator", [c.ethers.ZeroAddress]);
      await expectRevert(j.approveValidator(KYC, validator.address), j, "ValidatorAlreadyApproved", [KYC, validator.address]);
      await expectRevert(j.connect(stranger).approveValidator(KYC, stranger.address), j, "AccessControlUnauthorizedAccount", [
        stranger.address,
        adminRole,
      ]);
    });

    it("removes a validator, bumping the generation (ValidatorRemoved)", async () => {
      await expectEvent(j.removeValidator(KYC, validator2.address), j, "ValidatorRemoved", [KYC, validator2.address, 1n]);
      expect(await j.isValidator(KYC, validator2.address)).toBe(false);
      expect(Array.from(await j.validatorApproval(KYC, validator2.address))).toEqual([false, 1n]);
      // re-approval keeps the bumped generation
      await expectEvent(j.approveValidator(KYC, validator2.address), j, "ValidatorApproved", [KYC, validator2.address, 1n]);
      expect(Array.from(await j.validatorApproval(KYC, validator2.address))).toEqual([true, 1n]);
    });

    it("stores generations in 24 bits: the last possible removal succeeds, the next is GenerationsExhausted", async () => {
      // _approvals is slot 3 (after AccessControl's _roles, _typeNames, _typeExists); Approval packs
      // approved (byte 0) and generation (bytes 1–3). The read-back below checks the slot.
      const coder = AbiCoder.defaultAbiCoder();
      const inner = keccak256(coder.encode(["uint256", "uint256"], [KYC, 3n]));
      const slot = keccak256(coder.encode(["address", "bytes32"], [validator2.address, inner]));
      const max = 2n ** 24n - 1n;
      const packed = (approved: boolean, generation: bigint) => zeroPadValue(toBeHex((generation << 8n) | (approved ? 1n : 0n)), 32);
      await c.ethers.provider.send("hardhat_setStorageAt", [await j.getAddress(), slot, packed(true, max - 1n)]);
      expect(Array.from(await j.validatorApproval(KYC, validator2.address))).toEqual([true, max - 1n]);
      await expectEvent(j.removeValidator(KYC, validator2.address), j, "ValidatorRemoved", [KYC, validator2.address, max]);
      await (await j.approveValidator(KYC, validator2.address)).wait();
      await (await j.connect(validator2).issueAttribute(alice.address, KYC, 1n, await expiry())).wait();
      expect(await j.hasValidFlag(alice.address, KYC)).toBe(true);
      expect(await j.attributeGeneration(alice.address, KYC)).toBe(max);
      await expectRevert(j.removeValidator(KYC, validator2.address), j, "GenerationsExhausted", [KYC, validator2.address]);
      expect(Array.from(await j.validatorApproval(KYC, validator2.address))).toEqual([true, max]);
    });

    it("rejects removing a validator that is not approved, and a non-admin caller", async () => {
      await expectRevert(j.removeValidator(AML, validator2.address), j, "NotValidator", [AML, validator2.address]);
      await expectRevert(j.connect(validator).removeValidator(KYC, validator2.address), j, "AccessControlUnauthorizedAccount", [
        validator.address,
        adminRole,
      ]);
    });
  });

  describe("issueAttribute", () => {
    it("stores the attribute and emits AttributeIssued with all the data a mirror needs", async () => {
      const expiresAt = await expiry();
      await expectEvent(j.connect(validator).issueAttribute(alice.address, COUNTRY, 276n, expiresAt), j, "AttributeIssued", [
        alice.address,
        COUNTRY,
        validator.address,
        276n,
        expiresAt,
        0n,
      ]);
      const attribute = await j.attributeOf(alice.address, COUNTRY);
      expect([attribute.value, attribute.expiresAt, attribute.validator, attribute.valid]).toEqual([
        276n,
        expiresAt,
        validator.address,
        true,
      ]);
      expect(await j.hasValidAttribute(alice.address, COUNTRY)).toBe(true);
      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(false);
      expect(await j.hasValidAttribute(bob.address, COUNTRY)).toBe(false);
    });

    it("returns zeros and invalid for an attribute never issued", async () => {
      const attribute = await j.attributeOf(alice.address, KYC);
      expect(Array.from(attribute)).toEqual([0n, 0n, c.ethers.ZeroAddress, false]);
    });

    it("only lets a validator approved for that type issue", async () => {
      const expiresAt = await expiry();
      await expectRevert(j.connect(stranger).issueAttribute(alice.address, KYC, 1n, expiresAt), j, "NotValidator", [
        KYC,
        stranger.address,
      ]);
      // validator2 is approved for KYC only
      await expectRevert(j.connect(validator2).issueAttribute(alice.address, AML, 1n, expiresAt), j, "NotValidator", [
        AML,
        validator2.address,
      ]);
      // governance is not a validator either
      await expectRevert(j.connect(admin).issueAttribute(alice.address, KYC, 1n, expiresAt), j, "NotValidator", [
        KYC,
        admin.address,
      ]);
    });

    it("rejects the zero account and an expiry that is not in the future", async () => {
      await expectRevert(j.connect(validator).issueAttribute(c.ethers.ZeroAddress, KYC, 1n, await expiry()), j, "InvalidAccount", [c.ethers.ZeroAddress]);
      const next = (await c.time.latest()) + 10n;
      await c.time.setNextBlockTimestamp(next);
      await expectRevert(j.connect(validator).issueAttribute(alice.address, KYC, 1n, next), j, "ExpiryNotInFuture", [next, next]);
      await c.time.setNextBlockTimestamp(next + 1n);
      await (await j.connect(validator).issueAttribute(alice.address, KYC, 1n, next + 2n)).wait();
      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(true);
    });

    it("lets another approved validator replace (renew) a record, which then belongs to it", async () => {
      await (await j.connect(validator).issueAttribute(alice.address, KYC, 1n, await expiry())).wait();
      const renewed = await expiry(2n * ONE_YEAR);
      await expectEvent(j.connect(validator2).issueAttribute(alice.address, KYC, 1n, renewed), j, "AttributeIssued", [
        alice.address,
        KYC,
        validator2.address,
        1n,
        renewed,
        0n,
      ]);
      const attribute = await j.attributeOf(alice.address, KYC);
      expect([attribute.validator, attribute.expiresAt, attribute.valid]).toEqual([validator2.address, renewed, true]);
      await expectRevert(j.connect(validator).revokeAttribute(alice.address, KYC), j, "NotIssuer", [
        alice.address,
        KYC,
        validator.address,
        validator2.address,
      ]);
    });

    it("batches issuance with multicall, keeping the caller (a non-validator's batch reverts)", async () => {
      const expiresAt = await expiry();
      const calls = [KYC, AML].map((id) => j.interface.encodeFunctionData("issueAttribute", [bob.address, id, 1n, expiresAt]));
      await (await j.connect(validator).multicall(calls)).wait();
      expect(await j.hasValidAttribute(bob.address, KYC)).toBe(true);
      expect(await j.hasValidAttribute(bob.address, AML)).toBe(true);
      await expectRevert(j.connect(stranger).multicall(calls), j, "NotValidator", [KYC, stranger.address]);
    });
  });

  describe("expiry", () => {
    it("is strict: valid while block.timestamp < expiresAt, invalid from expiresAt on", async () => {
      const expiresAt = (await c.time.latest()) + 100n;
      await (await j.connect(validator).issueAttribute(alice.address, KYC, 1n, expiresAt)).wait();
      await c.time.increaseTo(expiresAt - 1n);
      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(true);
      expect((await j.attributeOf(alice.address, KYC)).valid).toBe(true);
      await c.time.increaseTo(expiresAt);
      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(false);
      const attribute = await j.attributeOf(alice.address, KYC);
      // the record is still there, only no longer valid
      expect([attribute.value, attribute.expiresAt, attribute.validator, attribute.valid]).toEqual([
        1n,
        expiresAt,
        validator.address,
        false,
      ]);
    });
  });

  describe("hasValidFlag: valid and of value 1", () => {
    it("is true only for value 1; other values are valid attributes but no flag", async () => {
      for (const value of [0n, 2n, 840n, 2n ** 256n - 1n]) {
        await (await j.connect(validator).issueAttribute(alice.address, KYC, value, await expiry())).wait();
        expect(await j.hasValidAttribute(alice.address, KYC)).toBe(true);
        expect(await j.hasValidFlag(alice.address, KYC), `value ${value}`).toBe(false);
      }
      await (await j.connect(validator).issueAttribute(alice.address, KYC, 1n, await expiry())).wait();
      expect(await j.hasValidFlag(alice.address, KYC)).toBe(true);
      // replacing a 1 by another value clears the flag
      await (await j.connect(validator2).issueAttribute(alice.address, KYC, 2n, await expiry())).wait();
      expect(await j.hasValidFlag(alice.address, KYC)).toBe(false);
      expect(await j.hasValidFlag(bob.address, KYC)).toBe(false); // never issued
    });

    it("follows validity: expiry, revocation and a removed validator end it", async () => {
      const e = await expiry(100n);
      await (await j.connect(validator).issueAttribute(alice.address, AML, 1n, e)).wait();
      await (await j.connect(validator).issueAttribute(bob.address, AML, 1n, await expiry())).wait();
      await (await j.connect(validator2).issueAttribute(bob.address, KYC, 1n, await expiry())).wait();
      expect([await j.hasValidFlag(alice.address, AML), await j.hasValidFlag(bob.address, AML), await j.hasValidFlag(bob.address, KYC)]).toEqual([
        true,
        true,
        true,
      ]);
      await c.time.increaseTo(e);
      expect(await j.hasValidFlag(alice.address, AML)).toBe(false);
      await (await j.connect(validator).revokeAttribute(bob.address, AML)).wait();
      expect(await j.hasValidFlag(bob.address, AML)).toBe(false);
      await (await j.removeValidator(KYC, validator2.address)).wait();
      expect(await j.hasValidFlag(bob.address, KYC)).toBe(false);
    });
  });

  describe("revokeAttribute", () => {
    it("deletes the record and emits AttributeRevoked", async () => {
      await (await j.connect(validator).issueAttribute(alice.address, AML, 1n, await expiry())).wait();
      await expectEvent(j.connect(validator).revokeAttribute(alice.address, AML), j, "AttributeRevoked", [
        alice.address,
        AML,
        validator.address,
      ]);
      expect(await j.hasValidAttribute(alice.address, AML)).toBe(false);
      expect(Array.from(await j.attributeOf(alice.address, AML))).toEqual([0n, 0n, c.ethers.ZeroAddress, false]);
    });

    it("rejects a missing attribute and a caller that is not the issuer", async () => {
      await expectRevert(j.connect(validator).revokeAttribute(alice.address, AML), j, "AttributeNotFound", [alice.address, AML]);
      await (await j.connect(validator).issueAttribute(alice.address, KYC, 1n, await expiry())).wait();
      // approved for the type, but not the issuer
      await expectRevert(j.connect(validator2).revokeAttribute(alice.address, KYC), j, "NotIssuer", [
        alice.address,
        KYC,
        validator2.address,
        validator.address,
      ]);
      // governance cannot revoke a record either (it removes validators instead)
      await expectRevert(j.connect(admin).revokeAttribute(alice.address, KYC), j, "NotIssuer", [
        alice.address,
        KYC,
        admin.address,
        validator.address,
      ]);
    });

    it("still lets a removed validator revoke what it issued", async () => {
      await (await j.connect(validator2).issueAttribute(alice.address, KYC, 1n, await expiry())).wait();
      await (await j.removeValidator(KYC, validator2.address)).wait();
      await expectEvent(j.connect(validator2).revokeAttribute(alice.address, KYC), j, "AttributeRevoked", [
        alice.address,
        KYC,
        validator2.address,
      ]);
      expect((await j.attributeOf(alice.address, KYC)).validator).toBe(c.ethers.ZeroAddress);
    });
  });

  describe("removing a validator voids what it issued", () => {
    it("voids only that validator's attributes of that type; re-approval does not revive them", async () => {
      const expiresAt = await expiry();
      await (await j.connect(validator2).issueAttribute(alice.address, KYC, 1n, expiresAt)).wait();
      await (await j.connect(validator).issueAttribute(bob.address, KYC, 1n, expiresAt)).wait();
      await (await j.connect(validator).issueAttribute(alice.address, AML, 1n, expiresAt)).wait();
      // validator (not validator2) also issues AML to alice; validator2 is removed for KYC only
      await (await j.removeValidator(KYC, validator2.address)).wait();

      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(false);
      const voided = await j.attributeOf(alice.address, KYC);
      expect([voided.value, voided.expiresAt, voided.validator, voided.valid]).toEqual([1n, expiresAt, validator2.address, false]);
      expect(await j.hasValidAttribute(bob.address, KYC)).toBe(true); // other validator's record
      expect(await j.hasValidAttribute(alice.address, AML)).toBe(true); // other type

      await (await j.approveValidator(KYC, validator2.address)).wait();
      expect(await j.isValidator(KYC, validator2.address)).toBe(true);
      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(false);
      expect(await j.attributeGeneration(alice.address, KYC)).toBe(0n);

      // a fresh issuance under the new generation is valid
      await expectEvent(j.connect(validator2).issueAttribute(alice.address, KYC, 1n, expiresAt), j, "AttributeIssued", [
        alice.address,
        KYC,
        validator2.address,
        1n,
        expiresAt,
        1n,
      ]);
      expect(await j.attributeGeneration(alice.address, KYC)).toBe(1n);
      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(true);
    });

    it("voids a validator's attributes of one type but not its attributes of another type", async () => {
      const expiresAt = await expiry();
      await (await j.connect(validator).issueAttribute(alice.address, KYC, 1n, expiresAt)).wait();
      await (await j.connect(validator).issueAttribute(alice.address, CUSTODIAN, 1n, expiresAt)).wait();
      await (await j.removeValidator(CUSTODIAN, validator.address)).wait();
      expect(await j.hasValidAttribute(alice.address, CUSTODIAN)).toBe(false);
      expect(await j.hasValidAttribute(alice.address, KYC)).toBe(true);
    });
  });

  describe("events suffice to mirror the registry", () => {
    it("a mirror built from events alone agrees with the views", async () => {
      const fromBlock = (await c.ethers.provider.getBlockNumber()) + 1;
      const e = await expiry();
      const accounts = [alice.address, bob.address, stranger.address];
      await (await j.connect(validator).issueAttribute(alice.address, KYC, 1n, e)).wait();
      await (await j.connect(validator2).issueAttribute(bob.address, KYC, 1n, e)).wait();
      await (await j.connect(validator).issueAttribute(bob.address, ACCREDITED, 1n, e)).wait();
      await (await j.connect(validator).issueAttribute(stranger.address, COUNTRY, 840n, e + 1000n)).wait();
      await (await j.connect(validator).issueAttribute(stranger.address, AML, 0n, e)).wait(); // valid, no flag
      await (await j.connect(validator).issueAttribute(alice.address, AML, 1n, e)).wait();
      await (await j.removeValidator(KYC, validator2.address)).wait();
      await (await j.approveValidator(KYC, validator2.address)).wait();
      await (await j.connect(validator2).issueAttribute(stranger.address, KYC, 1n, e)).wait();
      await (await j.connect(validator).revokeAttribute(alice.address, AML)).wait();
      await (await j.removeValidator(ACCREDITED, validator.address)).wait();
      const approvals = new Map<string, { approved: boolean; generation: bigint }>();
      const attributes = new Map<string, { value: bigint; expiresAt: bigint; validator: string; generation: bigint }>();
      // state before fromBlock: the fixture's validator for every type, validator2 for KYC
      for (const id of Object.values(ATTRIBUTE)) approvals.set(`${id}/${validator.address}`, { approved: true, generation: 0n });
      approvals.set(`${KYC}/${validator2.address}`, { approved: true, generation: 0n });
      for (const log of await j.queryFilter("*", fromBlock)) {
        const parsed = j.interface.parseLog(log);
        if (parsed === null) continue;
        const a = parsed.args;
        switch (parsed.name) {
          case "ValidatorApproved":
            approvals.set(`${a[0]}/${a[1]}`, { approved: true, generation: a[2] as bigint });
            break;
          case "ValidatorRemoved":
            approvals.set(`${a[0]}/${a[1]}`, { approved: false, generation: a[2] as bigint });
            break;
          case "AttributeIssued":
            attributes.set(`${a[0]}/${a[1]}`, {
              validator: a[2] as string,
              value: a[3] as bigint,
              expiresAt: a[4] as bigint,
              generation: a[5] as bigint,
            });
            break;
          case "AttributeRevoked":
            attributes.delete(`${a[0]}/${a[1]}`);
            break;
        }
      }
      const mirrorValid = (account: string, typeId: bigint, now: bigint): boolean => {
        const attribute = attributes.get(`${account}/${typeId}`);
        if (attribute === undefined) return false;
        const approval = approvals.get(`${typeId}/${attribute.validator}`);
        return approval !== undefined && approval.approved && approval.generation === attribute.generation && now < attribute.expiresAt;
      };
      const compareAll = async (): Promise<boolean[]> => {
        const now = await c.time.latest();
        const seen: boolean[] = [];
        for (const account of accounts) {
          for (const typeId of Object.values(ATTRIBUTE)) {
            const onChain = await j.hasValidAttribute(account, typeId);
            expect(mirrorValid(account, typeId, now), `${account} type ${typeId}`).toBe(onChain);
            const flag = mirrorValid(account, typeId, now) && attributes.get(`${account}/${typeId}`)?.value === 1n;
            expect(await j.hasValidFlag(account, typeId), `${account} flag ${typeId}`).toBe(flag);
            const stored = await j.attributeOf(account, typeId);
            expect(stored.value).toBe(attributes.get(`${account}/${typeId}`)?.value ?? 0n);
            seen.push(onChain);
          }
        }
        return seen;
      };
      // before expiry: alice KYC valid, AML revoked; bob KYC voided, ACCREDITED voided; stranger KYC (new
      // generation), AML (value 0) and COUNTRY valid
      expect(await compareAll()).toEqual([
        ...[true, false, false, false, false],
        ...[false, false, false, false, false],
        ...[true, true, false, true, false],
      ]);
      await c.time.increaseTo(e); // everything but stranger's COUNTRY has expired
      expect(await compareAll()).toEqual([
        ...[false, false, false, false, false],
        ...[false, false, false, false, false],
        ...[false, false, false, true, false],
      ]);
    });
  });
});
