import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import hre from "hardhat";
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { BaseContract, ContractTransactionResponse } from "ethers";
import { hexToBytes } from "@noble/hashes/utils.js";
import { domainSeparatorOf } from "../../client/protocol/index.js";
import {
  EMPTY_ROOT,
  consistencyProof,
  extendsLog,
  hashHex,
  leafHash,
  ordersDomainOf,
  rootOf,
} from "../../client/protocol/trading/index.js";
import { expectEvent, expectRevert, takeSnapshot } from "../helpers/chain.js";

/** A hand-written view of the ABI (no typechain in this project). */
interface OrderLogAnchor extends BaseContract {
  anchor(size: bigint, root: string): Promise<ContractTransactionResponse>;
  latestCheckpoint(): Promise<[bigint, string, bigint]>;
  rootAt(size: bigint): Promise<string>;
  domainSeparator(): Promise<string>;
  owner(): Promise<string>;
  transferOwnership(to: string): Promise<ContractTransactionResponse>;
  acceptOwnership(): Promise<ContractTransactionResponse>;
  connect(signer: HardhatEthersSigner): OrderLogAnchor;
  getAddress(): Promise<string>;
}

const leaves = Array.from({ length: 12 }, (_, i) => leafHash(Uint8Array.of(i, 0xaa)));
const rootHex = (size: number): string => hashHex(rootOf(leaves.slice(0, size)));

describe("OrderLogAnchor", () => {
  let ethers: HardhatEthers;
  let anchor: OrderLogAnchor;
  let venue: HardhatEthersSigner;
  let stranger: HardhatEthersSigner;
  let restore: () => Promise<void>;

  beforeAll(async () => {
    ({ ethers } = await hre.network.create());
    const signers = await ethers.getSigners();
    [venue, stranger] = [signers[0] as HardhatEthersSigner, signers[1] as HardhatEthersSigner];
    const factory = await ethers.getContractFactory("OrderLogAnchor");
    anchor = (await (await factory.deploy(venue.address)).waitForDeployment()) as unknown as OrderLogAnchor;
    restore = await takeSnapshot(ethers);
  });

  beforeEach(async () => {
    await restore();
  });

  it("starts empty, owned by the venue, with the \"Clearline Orders\" domain the TypeScript core computes", async () => {
    expect(await anchor.owner()).toBe(venue.address);
    expect(await anchor.latestCheckpoint()).toEqual([0n, `0x${"00".repeat(32)}`, 0n]);
    const { chainId } = await ethers.provider.getNetwork();
    expect(await anchor.domainSeparator()).toBe(domainSeparatorOf(ordersDomainOf(chainId, await anchor.getAddress())));
  });

  it("anchors strictly increasing sizes with CheckpointAnchored, and keeps every anchored root by size", async () => {
    const first = await expectEvent(anchor.anchor(5n, rootHex(5)), anchor, "CheckpointAnchored");
    const block = await ethers.provider.getBlock(first.blockNumber);
    const anchoredAt = BigInt(block?.timestamp ?? 0);
    expect(anchor.interface.parseLog(first.logs[0] as never)?.args.toArray()).toEqual([5n, rootHex(5), anchoredAt]);
    expect(await anchor.latestCheckpoint()).toEqual([5n, rootHex(5), anchoredAt]);

    await expectEvent(anchor.anchor(12n, rootHex(12)), anchor, "CheckpointAnchored");
    expect(await anchor.rootAt(5n)).toBe(rootHex(5));
    expect(await anchor.rootAt(12n)).toBe(rootHex(12));
    expect(await anchor.rootAt(7n)).toBe(`0x${"00".repeat(32)}`);
    expect((await anchor.latestCheckpoint())[0]).toBe(12n);

    // Anyone can check, from the chain alone, that the second anchor extends the first.
    const [size, root] = await anchor.latestCheckpoint();
    const proof = consistencyProof(leaves, 5, 12);
    expect(extendsLog(5n, await anchor.rootAt(5n), { size, root, time: 0n }, proof)).toBe(true);
    const forged = hashHex(rootOf([...leaves.slice(0, 4), leafHash(Uint8Array.of(0xff)), ...leaves.slice(5)]));
    expect(extendsLog(5n, await anchor.rootAt(5n), { size, root: forged, time: 0n }, proof)).toBe(false);
  });

  it("refuses a size that does not increase, and changes nothing", async () => {
    await (await anchor.anchor(5n, rootHex(5))).wait();
    await expectRevert(anchor.anchor(5n, rootHex(5)), anchor, "SizeNotIncreasing", [5n, 5n]);
    await expectRevert(anchor.anchor(4n, rootHex(4)), anchor, "SizeNotIncreasing", [4n, 5n]);
    expect((await anchor.latestCheckpoint())[0]).toBe(5n);
    expect(await anchor.rootAt(4n)).toBe(`0x${"00".repeat(32)}`);
  });

  it("refuses size 0 (the empty log is not anchored) and a zero root", async () => {
    await expectRevert(anchor.anchor(0n, hashHex(EMPTY_ROOT)), anchor, "SizeNotIncreasing", [0n, 0n]);
    await expectRevert(anchor.anchor(1n, `0x${"00".repeat(32)}`), anchor, "InvalidRoot", [`0x${"00".repeat(32)}`]);
    expect((await anchor.latestCheckpoint())[0]).toBe(0n);
  });

  it("only the venue anchors; ownership moves in two steps", async () => {
    await expectRevert(anchor.connect(stranger).anchor(1n, rootHex(1)), anchor, "OwnableUnauthorizedAccount", [stranger.address]);
    await (await anchor.transferOwnership(stranger.address)).wait();
    // Until the new key accepts, the old one still anchors.
    await (await anchor.anchor(1n, rootHex(1))).wait();
    await (await anchor.connect(stranger).acceptOwnership()).wait();
    await expectRevert(anchor.anchor(2n, rootHex(2)), anchor, "OwnableUnauthorizedAccount", [venue.address]);
    await expectEvent(anchor.connect(stranger).anchor(2n, rootHex(2)), anchor, "CheckpointAnchored");
    expect(hexToBytes((await anchor.rootAt(2n)).slice(2))).toEqual(rootOf(leaves.slice(0, 2)));
  });
});
