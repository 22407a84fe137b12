// Chain-side setup of the throughput benchmark: many investors, each with identity attributes,
// security tokens and one open, funded channel with the venue. Done quickly by turning Hardhat's
// automine off, signing every transaction locally with explicit nonces and gas limits, and mining
// them in a few blocks; then registering each channel's parameters with the node (the `open`
// message, which must precede the on-chain open for the node to adopt the channel).
import { HDNodeWallet, Interface, Mnemonic, MaxUint256, Wallet, keccak256, toBeHex, type JsonRpcProvider, type TransactionRequest } from "ethers";
import { NativeSigner, channelIdOf, paramsToJson, type Params } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";
import { ATTRIBUTE } from "../../devstack/system.js";
import { ROLES, SECURITY_UNIT, devWallet, type Stack } from "../../devstack/stack.js";
import { WireSession } from "./wire.js";

/** Investors use dev-mnemonic accounts from this index up (clear of the demo roles 0..19). */
export const FIRST_INVESTOR_INDEX = 100;
/** What each investor deposits into its channel, and pays per update (1 smallest unit). */
export const DEPOSIT = 10n * SECURITY_UNIT;
export const CHALLENGE_PERIOD = 3_600n;

export interface BenchInvestor {
  readonly index: number;
  readonly privateKey: string;
  readonly address: string;
}

export interface BenchChannel {
  readonly investor: BenchInvestor;
  readonly params: Params;
  readonly channelId: string;
}

/** Derives `count` investor keys (from the account node once: per-key mnemonic derivation is slow). */
export function benchInvestors(count: number): BenchInvestor[] {
  const account = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase("test test test test test test test test test test test junk"), "m/44'/60'/0'/0");
  return Array.from({ length: count }, (_, i) => {
    const wallet = account.deriveChild(FIRST_INVESTOR_INDEX + i);
    return { index: FIRST_INVESTOR_INDEX + i, privateKey: wallet.privateKey, address: wallet.address };
  });
}

const GWEI = 10n ** 9n;

/** Signs and submits transactions with explicit nonces while automine is off, then mines them all. */
class Batch {
  private readonly hashes: string[] = [];
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly chainId: bigint,
  ) {}

  async send(wallet: Wallet, tx: TransactionRequest): Promise<void> {
    let nonce = this.nonces.get(wallet.address);
    // "latest", not "pending": Hardhat builds the pending block to answer, slow with a full mempool,
    // and every earlier batch is mined already.
    if (nonce === undefined) nonce = await this.provider.getTransactionCount(wallet.address, "latest");
    this.nonces.set(wallet.address, nonce + 1);
    const raw = await wallet.signTransaction({
      ...tx,
      nonce,
      chainId: this.chainId,
      type: 2,
      maxFeePerGas: 200n * GWEI,
      maxPriorityFeePerGas: GWEI,
    });
    this.hashes.push(await this.provider.send("eth_sendRawTransaction", [raw]));
  }

  /** Mines blocks until every submitted transaction has a receipt; throws if any reverted. */
  async mine(): Promise<number> {
    let blocks = 0;
    let waiting = [...this.hashes];
    this.hashes.length = 0;
    while (waiting.length > 0) {
      if (++blocks > 100) throw new Error(`${waiting.length} setup transactions stay unmined`);
      await this.provider.send("evm_mine", []);
      const left: string[] = [];
      for (let i = 0; i < waiting.length; i += 64) {
        const hashes = waiting.slice(i, i + 64);
        const receipts = await Promise.all(hashes.map((hash) => this.provider.getTransactionReceipt(hash)));
        receipts.forEach((receipt, j) => {
          if (receipt === null) left.push(hashes[j]!);
          else if (receipt.status !== 1) throw new Error(`setup transaction ${hashes[j]} reverted`);
        });
      }
      waiting = left;
    }
    return blocks;
  }
}

async function withBatch<T>(stack: Stack, work: (batch: Batch) => Promise<T>): Promise<T> {
  const provider = stack.connection.ethers.provider as unknown as JsonRpcProvider;
  await provider.send("evm_setAutomine", [false]);
  try {
    const batch = new Batch(provider, stack.chainId);
    const result = await work(batch);
    await batch.mine();
    return result;
  } finally {
    await provider.send("evm_setAutomine", [true]);
  }
}

/**
 * Gives every investor gas money, KYC and AML (what a sender of the security token needs; the
 * venue, the receiver, was fully onboarded by startStack), security tokens, and an unlimited
 * allowance for the adjudicator.
 */
export async function onboardInvestors(stack: Stack, investors: readonly BenchInvestor[]): Promise<void> {
  const provider = stack.connection.ethers.provider as unknown as JsonRpcProvider;
  const issuer = new Wallet(devWallet(ROLES.issuer).privateKey, provider);
  const jurisdiction = new Interface(["function issueAttribute(address,uint256,uint256,uint64)"]);
  const token = new Interface(["function mint(address,uint256)", "function approve(address,uint256)"]);
  const now = BigInt((await provider.getBlock("latest"))!.timestamp);
  const expiresAt = now + 365n * 24n * 3600n;
  for (let i = 0; i < investors.length; i += 64) {
    await Promise.all(investors.slice(i, i + 64).map((inv) => provider.send("hardhat_setBalance", [inv.address, toBeHex(10n ** 20n)])));
  }
  await withBatch(stack, async (batch) => {
    for (const inv of investors) {
      for (const type of [ATTRIBUTE.KYC, ATTRIBUTE.AML]) {
        await batch.send(issuer, { to: stack.addresses.jurisdiction, data: jurisdiction.encodeFunctionData("issueAttribute", [inv.address, type, 1n, expiresAt]), gasLimit: 300_000n });
      }
      await batch.send(issuer, { to: stack.addresses.token, data: token.encodeFunctionData("mint", [inv.address, DEPOSIT]), gasLimit: 300_000n });
    }
    await Promise.all(
      investors.map((inv) =>
        batch.send(new Wallet(inv.privateKey, provider), {
          to: stack.addresses.token,
          data: token.encodeFunctionData("approve", [stack.addresses.adjudicator, MaxUint256]),
          gasLimit: 100_000n,
        }),
      ),
    );
  });
}

/** The parameters of investor `inv`'s bench channel: the security token and the cash token. */
export function benchChannel(stack: Stack, venue: string, inv: BenchInvestor): BenchChannel {
  const params: Params = {
    participants: [venue, inv.address],
    assets: [stack.addresses.token, stack.addresses.cash],
    challengePeriod: CHALLENGE_PERIOD,
    salt: keccak256(toBeHex(inv.index, 32)),
  };
  return { investor: inv, params, channelId: channelIdOf(params, stack.chainId, stack.addresses.adjudicator) };
}

/**
 * Registers every channel with the node over the wire (`open`), then opens them all on chain with the
 * investor's deposit of the security token, mined in a few blocks. The caller waits for the node to
 * see them (its chain watcher adopts the ChannelOpened and Deposited events).
 */
export async function openChannels(stack: Stack, nodeUrl: string, venue: string, investors: readonly BenchInvestor[]): Promise<BenchChannel[]> {
  const channels = investors.map((inv) => benchChannel(stack, venue, inv));
  for (let i = 0; i < channels.length; i += 32) {
    await Promise.all(
      channels.slice(i, i + 32).map(async (channel) => {
        const { session } = await WireSession.login(nodeUrl, await NativeSigner.create(channel.investor.privateKey));
        const answer = await session.request({ v: PROTOCOL_VERSION, type: "open", id: session.newId(), params: paramsToJson(channel.params) });
        await session.close();
        if (answer.type !== "opened") throw new Error(`the node did not agree to channel ${channel.channelId}: ${JSON.stringify(answer)}`);
      }),
    );
  }
  const provider = stack.connection.ethers.provider as unknown as JsonRpcProvider;
  const adjudicator = new Interface([
    "function open((address[2] participants, address[] assets, uint64 challengePeriod, bytes32 salt) params, uint256 assetIndex, uint256 amount)",
  ]);
  await withBatch(stack, async (batch) => {
    for (const channel of channels) {
      const { params } = channel;
      const data = adjudicator.encodeFunctionData("open", [[params.participants, params.assets, params.challengePeriod, params.salt], 0, DEPOSIT]);
      await batch.send(new Wallet(channel.investor.privateKey, provider), { to: stack.addresses.adjudicator, data, gasLimit: 600_000n });
    }
  });
  return channels;
}
