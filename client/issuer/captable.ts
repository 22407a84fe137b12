// The cap table: every holder's balance of the security token, including what it holds inside
// channels, as of one block. Sources (docs/issuer.md, "Cap table"):
// - wallets: every address in the token's Transfer events, with balanceOf at the block;
// - channels: every channel with a Deposited event of the token; per participant the adjudicator's
//   holdings view (deposits minus withdrawals), shifted by the registered net while disputed;
// - claimable: payouts the adjudicator could not push (PayoutDeferred), claimableOf per holder;
// - held: movements the token's rules refused at settlement (MovementHeld), heldOf per pair,
//   counted for the sender until the controller (or the rules) decide them.
// The adjudicator's own balance is custody, not ownership: it is reconciled against the above.
import { Contract, type Provider } from "ethers";
import { adjudicatorAbi } from "../chain/abi.js";
import { copyCapTableIndex, newCapTableIndex, scanCapTableLogs, type CapTableIndex, type IndexScan } from "./captable-index.js";
import { CHANNEL_PHASES } from "../chain/adjudicator.js";
import { toChainError } from "../chain/errors.js";
import { CliError } from "../cli/errors.js";
import { formatAmount } from "../cli/amounts.js";
import type { Address, Bytes32 } from "../protocol/index.js";
import type { IssuerContext, TokenFacts } from "./context.js";

export interface CapTableOptions {
  fromBlock?: string;
  block?: string;
  logChunk?: string;
  maxAccounts?: string;
  all?: boolean;
}

/** Parallel view calls at a time (the RPC endpoint is the issuer's own, but not unbounded). */
const PARALLEL = 16;

interface Position {
  wallet: bigint;
  channels: bigint;
  claimable: bigint;
  held: bigint;
  channelIds: Set<Bytes32>;
}

const whole = (option: string, text: string | undefined, fallback: number, min: number, max: number): number => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError("USAGE", `${option} must be a whole number from ${min} to ${max}, not "${text}"`);
  }
  return value;
};

/** Runs `work` over `items`, PARALLEL at a time. */
async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(work));
}

/** What reading a cap table needs: the chain, the token, and the adjudicator (the issuer's CLI context, or the venue's node). */
export interface CapTableSource {
  readonly provider: Provider;
  readonly adjudicator: Address;
  token(): Contract;
  tokenFacts(): Promise<TokenFacts>;
  /** A view call; failures become ChainErrors. */
  view(contract: Contract, method: string, ...args: unknown[]): Promise<unknown>;
}

export async function capTableCommand(ctx: IssuerContext, options: CapTableOptions): Promise<void> {
  const source: CapTableSource = {
    provider: ctx.provider,
    adjudicator: ctx.settings.adjudicator(),
    token: () => ctx.token(),
    tokenFacts: () => ctx.tokenFacts(),
    view: (contract, method, ...args) => ctx.view(contract, method, ...args),
  };
  const { lines, data } = await readCapTable(source, options);
  ctx.output.result(lines, data);
}

export type CapTable = Awaited<ReturnType<typeof readCapTable>>["data"];

/**
 * Blocks a kept index stays behind the head: the logs of the latest blocks are scanned again at every
 * read, so a reorganisation of fewer blocks than this cannot leave a dropped event in the kept index.
 */
export const CAP_TABLE_REORG_MARGIN = 64;

/** A log index a caller keeps between reads of the same token's cap table (the console does). */
export interface KeptCapTableIndex {
  index?: CapTableIndex;
}

/**
 * The logs up to `block`: scanned afresh, or, with a kept index of the same first block, only the
 * blocks it has not seen — it is advanced to `CAP_TABLE_REORG_MARGIN` blocks behind `block` and the
 * rest is scanned into a copy.
 */
async function indexUpTo(scan: IndexScan, fromBlock: number, block: number, kept: KeptCapTableIndex | undefined): Promise<CapTableIndex> {
  if (kept === undefined) {
    const index = newCapTableIndex(fromBlock);
    await scanCapTableLogs(index, scan, block);
    return index;
  }
  if (kept.index === undefined || kept.index.fromBlock !== fromBlock || kept.index.scannedTo > block) kept.index = newCapTableIndex(fromBlock);
  await scanCapTableLogs(kept.index, scan, Math.max(kept.index.scannedTo, block - CAP_TABLE_REORG_MARGIN));
  const index = copyCapTableIndex(kept.index);
  await scanCapTableLogs(index, scan, block);
  return index;
}

/**
 * The cap table as lines for people and data for JSON (amounts as decimals and smallest units).
 * `kept`: an index kept between reads (see `indexUpTo`); without it the logs are scanned afresh.
 */
export async function readCapTable(ctx: CapTableSource, options: CapTableOptions, kept?: KeptCapTableIndex) {
  const head = await ctx.provider.getBlockNumber().catch((error: unknown) => {
    throw toChainError(error, "getBlockNumber");
  });
  const block = whole("--block", options.block, head, 0, head);
  const fromBlock = whole("--from-block", options.fromBlock, 0, 0, block);
  const chunk = whole("--log-chunk", options.logChunk, 10_000, 1, 1_000_000);
  const maxAccounts = whole("--max-accounts", options.maxAccounts, 100_000, 1, 10_000_000);
  const facts = await ctx.tokenFacts();
  const tokenAddress = facts.address;
  const adjudicatorAddress = ctx.adjudicator;
  const token = ctx.token();
  const adjudicator = new Contract(adjudicatorAddress, adjudicatorAbi() as never, ctx.provider);
  const at = { blockTag: block };
  const scan: IndexScan = { provider: ctx.provider, token: tokenAddress, tokenInterface: token.interface, symbol: facts.symbol, adjudicator: adjudicatorAddress, chunk, maxAccounts };
  const index = await indexUpTo(scan, fromBlock, block, kept);

  const positions = new Map<Address, Position>();
  const position = (account: Address): Position => {
    let p = positions.get(account);
    if (p === undefined) {
      if (positions.size >= maxAccounts) {
        throw new CliError("USAGE", `more than ${maxAccounts} accounts hold or held ${facts.symbol}: raise --max-accounts or narrow --from-block`, { maxAccounts });
      }
      p = { wallet: 0n, channels: 0n, claimable: 0n, held: 0n, channelIds: new Set() };
      positions.set(account, p);
    }
    return p;
  };
  for (const account of index.holders) position(account);
  await eachLimited([...positions.keys()], async (account) => {
    position(account).wallet = (await ctx.view(token, "balanceOf", account, at)) as bigint;
  });

  // Channels that ever received this token; while disputed, the registered nets.
  const channels = [...index.channels].filter(([id]) => index.deposited.has(id)).map(([id, c]) => ({ id: id as Bytes32, ...c }));
  const registered = index.registered;
  const channelRows: { channelId: Bytes32; phase: string; participants: Address[]; amounts: bigint[] }[] = [];
  await eachLimited(channels, async (c) => {
    const [phaseIndex] = (await ctx.view(adjudicator, "channel", c.id, at)) as [bigint];
    const [available0, available1] = (await ctx.view(adjudicator, "holdings", c.id, c.assetIndex, at)) as [bigint, bigint];
    const phase = CHANNEL_PHASES[Number(phaseIndex)] ?? "None";
    // While disputed, the registered state's net says who gets what at settlement.
    const net = phase === "Disputed" ? (registered.get(c.id)?.[c.assetIndex] ?? 0n) : 0n;
    const amounts = [available0 - net, available1 + net];
    if (amounts[0] === 0n && amounts[1] === 0n) return;
    channelRows.push({ channelId: c.id, phase, participants: c.participants, amounts });
    c.participants.forEach((who, i) => {
      const p = position(who);
      p.channels += amounts[i]!;
      p.channelIds.add(c.id);
    });
  });

  // Claimable payouts and held movements.
  await eachLimited([...index.claimants], async (holder) => {
    const amount = (await ctx.view(adjudicator, "claimableOf", tokenAddress, holder, at)) as bigint;
    if (amount > 0n) position(holder).claimable += amount;
  });
  await eachLimited([...index.heldPairs.values()], async ([from, to]) => {
    const amount = (await ctx.view(adjudicator, "heldOf", tokenAddress, from, to, at)) as bigint;
    if (amount > 0n) position(from).held += amount;
  });

  const [totalSupply, custody] = (await Promise.all([ctx.view(token, "totalSupply", at), ctx.view(token, "balanceOf", adjudicatorAddress, at)])) as [bigint, bigint];
  const frozen = new Map<Address, boolean>();
  const rows = [...positions.entries()]
    .map(([address, p]) => ({ address, ...p, total: p.wallet + p.channels + p.claimable + p.held }))
    .filter((r) => options.all === true || r.total !== 0n || r.wallet !== 0n || r.channels !== 0n)
    .sort((a, b) => (a.total === b.total ? a.address.localeCompare(b.address) : a.total > b.total ? -1 : 1));
  await eachLimited(rows, async (r) => {
    frozen.set(r.address, (await ctx.view(token, "isFrozen", r.address, at)) as boolean);
  });
  const attributed = rows.reduce((sum, r) => sum + r.channels + r.claimable + r.held, 0n);
  const fmt = (value: bigint): string => formatAmount(value, facts.decimals);
  const money = (name: string, value: bigint): Record<string, string> => ({ [name]: fmt(value), [`${name}Units`]: value.toString() });

  const data = {
    token: tokenAddress,
    symbol: facts.symbol,
    decimals: facts.decimals,
    block,
    fromBlock,
    ...money("totalSupply", totalSupply),
    holders: rows.map((r) => ({
      address: r.address,
      frozen: frozen.get(r.address) === true,
      ...money("wallet", r.wallet),
      ...money("channels", r.channels),
      ...money("claimable", r.claimable),
      ...money("held", r.held),
      ...money("total", r.total),
      channelIds: [...r.channelIds].sort(),
    })),
    channels: channelRows.sort((a, b) => a.channelId.localeCompare(b.channelId)).map((c) => ({
      channelId: c.channelId,
      phase: c.phase,
      participants: c.participants,
      amounts: c.amounts.map(fmt),
      amountsUnits: c.amounts.map(String),
    })),
    custody: { adjudicator: adjudicatorAddress, ...money("balance", custody), ...money("attributed", attributed), ...money("unattributed", custody - attributed) },
  };

  const width = Math.max(8, ...rows.map((r) => fmt(r.total).length), fmt(totalSupply).length);
  const col = (value: bigint): string => fmt(value).padStart(width);
  const lines = [
    `cap table of ${facts.symbol} (${tokenAddress}) at block ${block}; amounts in ${facts.symbol}`,
    `${"holder".padEnd(42)}  ${["wallet", "channels", "claimable", "held", "total"].map((h) => h.padStart(width)).join("  ")}`,
    ...rows.map((r) => `${r.address}  ${[r.wallet, r.channels, r.claimable, r.held, r.total].map(col).join("  ")}${frozen.get(r.address) === true ? "  FROZEN" : ""}`),
    `total supply ${fmt(totalSupply)} ${facts.symbol}; the adjudicator holds ${fmt(custody)} (${fmt(attributed)} attributed above${custody === attributed ? "" : `, ${fmt(custody - attributed)} unattributed`})`,
  ];
  return { lines, data };
}
