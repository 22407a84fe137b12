// The investor's commands, each a function of the parsed options over a Session (session.ts). They
// compute a result once and render it twice: lines for a person and an object for --json.
import type { Address, Bytes32, ParticipantIndex } from "../protocol/index.js";
import { MAX_CHALLENGE_PERIOD, MIN_CHALLENGE_PERIOD } from "../protocol/index.js";
import type { ChannelRecord, HistoryEntry } from "../store/store.js";
import type { TxOutcome } from "../chain/adjudicator.js";
import { CliError } from "./errors.js";
import { splitAssetAmount } from "./amounts.js";
import type { Output } from "./output.js";
import { assetIndexOf, resolveAccount, resolveAsset, resolveChannel, short, type Session } from "./session.js";

const PHASE_NAMES: Readonly<Record<string, string>> = { None: "not on chain yet", Open: "open", Disputed: "disputed", Concluded: "concluded" };

function txJson(outcome: TxOutcome): { hash: string; blockNumber: number; gasUsed: string } {
  return { hash: outcome.hash, blockNumber: outcome.blockNumber, gasUsed: outcome.gasUsed.toString() };
}

function isoSeconds(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The parsed asset and amount of `--asset X --amount Y` in a channel. */
async function assetAmount(s: Session, record: ChannelRecord, asset: string | undefined, amount: string | undefined): Promise<{ asset: Address; assetIndex: number; amount: bigint }> {
  if (asset === undefined) throw new CliError("USAGE", "--asset is required (an address, security, cash or a symbol)");
  if (amount === undefined) throw new CliError("USAGE", "--amount is required (a decimal, e.g. 12.5)");
  const address = await resolveAsset(asset, s.deployment, s.tokens, record.params.assets);
  const assetIndex = await assetIndexOf(record, address, s.tokens);
  return { asset: address, assetIndex, amount: await s.tokens.parse(address, amount) };
}

/** What the investor holds in the channel of `asset` now (by the latest agreed state). */
async function myBalance(s: Session, channelId: Bytes32, asset: Address): Promise<bigint> {
  const balances = await s.client.balances(channelId);
  return balances.find((b) => b.asset === asset)?.me ?? 0n;
}

/** Claimable balances of the investor in the channel's assets (a payout that could not be pushed). */
async function claimables(s: Session, record: ChannelRecord): Promise<{ asset: Address; amount: bigint }[]> {
  const found = await Promise.all(record.params.assets.map(async (asset) => ({ asset, amount: await s.chain.claimableOf(asset, s.address) })));
  return found.filter((c) => c.amount > 0n);
}

async function claimableLines(s: Session, claimable: { asset: Address; amount: bigint }[]): Promise<string[]> {
  return Promise.all(
    claimable.map(async (c) => `  ${await s.tokens.format(c.asset, c.amount)} could not be paid to your wallet and is claimable: clearline claim --asset ${c.asset}`),
  );
}

// ------------------------------------------------------------------------------------- reads

async function channelSummary(s: Session, record: ChannelRecord) {
  const onChain = await s.chain.channel(record.channelId);
  // A concluded channel holds nothing any more (what it paid out is in the wallets or claimable).
  const balances = onChain.phase === "Concluded" ? [] : await s.client.balances(record.channelId);
  const me = record.me;
  return {
    channelId: record.channelId,
    venue: record.params.participants[me === 1 ? 0 : 1],
    status: onChain.phase === "None" ? "proposed" : onChain.phase.toLowerCase(),
    nonce: (record.latest?.state.nonce ?? 0n).toString(),
    challengePeriod: Number(record.params.challengePeriod),
    ...(onChain.phase === "Disputed" ? { dispute: { registeredNonce: onChain.nonce.toString(), deadline: isoSeconds(onChain.deadline) } } : {}),
    // `shortfall` only when the chain holds less than the agreed state assigns (balances are never negative).
    balances: await Promise.all(balances.map((b) => s.tokens.json(b.asset, { me: b.me, venue: b.venue, ...(b.shortfall > 0n ? { shortfall: b.shortfall } : {}) }))),
    phase: onChain.phase,
  };
}

export async function channelsCommand(s: Session, output: Output, options: { prune?: boolean } = {}): Promise<void> {
  if (options.prune === true) {
    // Reported on stderr: stdout stays the channel list.
    const pruned = await s.client.pruneChannels();
    for (const channelId of pruned.abandoned) output.note(`pruned ${channelId}: its open never reached the chain`, { pruned: channelId });
    for (const { channelId, reason } of pruned.kept) output.note(`kept ${channelId} (not on chain yet): ${reason}`, { kept: channelId, reason });
  }
  const records = await s.client.channels();
  const summaries = await Promise.all(records.map((r) => channelSummary(s, r)));
  const lines: string[] = [];
  if (summaries.length === 0) lines.push(`no channels for ${s.address} (open one with: clearline open --asset cash --amount 100)`);
  for (const c of summaries) {
    const dispute = c.dispute ? `, state #${c.dispute.registeredNonce} registered, challenge period ends ${c.dispute.deadline}` : "";
    const note = c.phase === "Concluded" ? " (paid out)" : c.phase === "None" && options.prune !== true ? " (if its open failed: clearline channels --prune)" : "";
    lines.push(`${c.channelId}  ${PHASE_NAMES[c.phase] ?? c.status}${note}${dispute}  state #${c.nonce}  venue ${c.venue}`);
    for (const b of c.balances) lines.push(`    ${String(b.symbol).padEnd(8)} you ${b.me}  venue ${b.venue}${shortfallText(b)}`);
  }
  output.result(lines, summaries.map(({ phase: _phase, ...rest }) => rest));
}

export async function balancesCommand(s: Session, output: Output, channel: string): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const summary = await channelSummary(s, record);
  const lines = [`channel ${record.channelId} (${PHASE_NAMES[summary.phase] ?? summary.status}, state #${summary.nonce})`];
  if (summary.phase === "Concluded") lines.push("  paid out on chain: the channel holds nothing any more");
  if (summary.dispute) lines.push(`  state #${summary.dispute.registeredNonce} is registered on chain; the challenge period ends ${summary.dispute.deadline}`);
  const width = Math.max(0, ...summary.balances.map((b) => String(b.symbol).length));
  for (const b of summary.balances) lines.push(`  ${String(b.symbol).padEnd(width)}  you ${b.me}  venue ${b.venue}${shortfallText(b)}`);
  const { phase: _phase, ...data } = summary;
  output.result(lines, data);
}

function shortfallText(balance: Record<string, unknown>): string {
  return balance.shortfall === undefined ? "" : `  (the chain holds ${String(balance.shortfall)} less than the agreed state assigns)`;
}

function party(index: ParticipantIndex | null, me: ParticipantIndex): string {
  if (index === null) return "chain";
  return index === me ? "you" : "venue";
}

export async function historyCommand(s: Session, output: Output, channel: string, options: { limit?: string }): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  let limit: number | undefined;
  if (options.limit !== undefined) {
    limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CliError("USAGE", `--limit must be a positive whole number, not "${options.limit}"`);
  }
  // Newest first, always (the SDK gives oldest first without a limit).
  const entries: readonly HistoryEntry[] = await s.client.history(record.channelId, limit);
  const me = record.me;
  const rows = await Promise.all(
    entries.map(async (entry) => {
      const movements = await Promise.all(
        entry.update.movements.map(async (m) => {
          const asset = record.params.assets[m.assetIndex]!;
          return { ...(await s.tokens.json(asset, { amount: m.amount })), from: party(m.from, me), to: party(m.to, me), text: await s.tokens.format(asset, m.amount) };
        }),
      );
      return {
        nonce: entry.signed.state.nonce.toString(),
        at: new Date(entry.update.at).toISOString(),
        kind: entry.update.kind,
        ...(entry.update.memo === undefined ? {} : { memo: entry.update.memo }),
        final: entry.signed.state.isFinal,
        movements,
      };
    }),
  );
  const describe = (m: (typeof rows)[number]["movements"][number]): string => {
    if (m.to === "chain") return `${m.from} withdrew ${m.text}`;
    if (m.from === "chain") return `${m.to} deposited ${m.text}`;
    return `${m.from} → ${m.to} ${m.text}`;
  };
  const lines = rows.length === 0 ? [`no agreed updates in channel ${record.channelId} yet`] : [];
  for (const row of rows) {
    const what = row.movements.length === 0 ? "" : `  ${row.movements.map(describe).join("; ")}`;
    lines.push(`#${row.nonce.padEnd(4)} ${row.at.replace(/\.\d{3}Z$/, "Z")}  ${row.kind.padEnd(10)}${what}${row.memo === undefined ? "" : `  "${row.memo}"`}`);
  }
  output.result(
    lines,
    rows.map((row) => ({ ...row, movements: row.movements.map(({ text: _text, ...m }) => m) })),
  );
}

// ------------------------------------------------------------------------------- with the venue

export async function openCommand(
  s: Session,
  output: Output,
  options: { asset?: string; amount?: string; assets?: string; challengePeriod?: string },
): Promise<void> {
  let assets: Address[];
  if (options.assets !== undefined) {
    assets = [];
    for (const spec of options.assets.split(",").filter((x) => x.trim() !== "")) assets.push(await resolveAsset(spec, s.deployment, s.tokens));
  } else {
    assets = [s.deployment?.security, s.deployment?.cash].filter((a): a is Address => a !== undefined);
  }
  let deposit: { asset: Address; amount: bigint } | undefined;
  if (options.amount !== undefined || options.asset !== undefined) {
    if (options.asset === undefined || options.amount === undefined) throw new CliError("USAGE", "a first deposit needs both --asset and --amount");
    const asset = await resolveAsset(options.asset, s.deployment, s.tokens, assets);
    deposit = { asset, amount: await s.tokens.parse(asset, options.amount) };
    if (!assets.includes(asset)) assets.push(asset);
  }
  assets = [...new Set(assets)];
  if (assets.length === 0) throw new CliError("USAGE", "which assets? pass --assets <a,b> (or --asset, or use a deployment file naming the security and cash tokens)");
  let challengePeriod: bigint | undefined;
  if (options.challengePeriod !== undefined) {
    if (!/^\d+$/.test(options.challengePeriod)) throw new CliError("USAGE", `--challenge-period is whole seconds, not "${options.challengePeriod}"`);
    challengePeriod = BigInt(options.challengePeriod);
    if (challengePeriod < MIN_CHALLENGE_PERIOD || challengePeriod > MAX_CHALLENGE_PERIOD) {
      throw new CliError("USAGE", `--challenge-period must be ${MIN_CHALLENGE_PERIOD}..${MAX_CHALLENGE_PERIOD} seconds`);
    }
  }
  output.note(`opening a channel with the venue (assets ${(await Promise.all(assets.map(async (a) => (await s.tokens.info(a)).symbol))).join(", ")})…`);
  const channelId = await s.client.openChannel({
    assets,
    ...(challengePeriod === undefined ? {} : { challengePeriod }),
    ...(deposit === undefined ? {} : { deposit: { assetIndex: assets.indexOf(deposit.asset), amount: deposit.amount } }),
  });
  const record = (await s.store.channel(channelId))!;
  const summary = await channelSummary(s, record);
  const lines = [
    `opened channel ${channelId}`,
    `  venue ${summary.venue}, challenge period ${record.params.challengePeriod} s`,
    ...(deposit === undefined ? [] : [`  deposited ${await s.tokens.format(deposit.asset, deposit.amount)}`]),
    ...summary.balances.map((b) => `  ${String(b.symbol).padEnd(8)} you ${b.me}  venue ${b.venue}`),
  ];
  const { phase: _phase, ...data } = summary;
  output.result(lines, { ...data, assets, ...(deposit === undefined ? {} : { deposit: await s.tokens.json(deposit.asset, { amount: deposit.amount }) }) });
}

export async function depositCommand(s: Session, output: Output, channel: string, options: { asset?: string; amount?: string }): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const { asset, assetIndex, amount } = await assetAmount(s, record, options.asset, options.amount);
  const outcome = await s.client.deposit(record.channelId, assetIndex, amount);
  const balance = await myBalance(s, record.channelId, asset);
  output.result(
    [`deposited ${await s.tokens.format(asset, amount)} into channel ${short(record.channelId)} (tx ${outcome.hash})`, `  your balance: ${await s.tokens.format(asset, balance)}`],
    { channelId: record.channelId, ...(await s.tokens.json(asset, { amount, balance })), tx: txJson(outcome) },
  );
}

export async function payCommand(s: Session, output: Output, channel: string, options: { asset?: string; amount?: string; to?: string; memo?: string }): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const { asset, assetIndex, amount } = await assetAmount(s, record, options.asset, options.amount);
  const to = options.to === undefined ? undefined : resolveAccount(options.to, s.deployment);
  if (to !== undefined && to === s.address) throw new CliError("USAGE", "--to is your own address: pay someone else");
  const agreed = await s.client.pay(record.channelId, { assetIndex, amount, ...(to === undefined ? {} : { to }), ...(options.memo === undefined ? {} : { memo: options.memo }) });
  const balance = await myBalance(s, record.channelId, asset);
  const whom = to === undefined ? "the venue" : `${to} through the venue`;
  output.result(
    [`paid ${await s.tokens.format(asset, amount)} to ${whom} (state #${agreed.state.nonce})`, `  your balance: ${await s.tokens.format(asset, balance)}`],
    {
      channelId: record.channelId,
      nonce: agreed.state.nonce.toString(),
      to: to ?? "venue",
      ...(options.memo === undefined ? {} : { memo: options.memo }),
      ...(await s.tokens.json(asset, { amount, balance })),
    },
  );
}

export async function tradeCommand(s: Session, output: Output, channel: string, options: { give?: string; get?: string }): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  if (options.give === undefined || options.get === undefined) throw new CliError("USAGE", "a trade needs --give <asset>:<amount> and --get <asset>:<amount>");
  const give = splitAssetAmount(options.give);
  const get = splitAssetAmount(options.get);
  const gave = await assetAmount(s, record, give.asset, give.amount);
  const got = await assetAmount(s, record, get.asset, get.amount);
  if (gave.assetIndex === got.assetIndex) throw new CliError("USAGE", "--give and --get must be different assets");
  const agreed = await s.client.trade(record.channelId, {
    give: { assetIndex: gave.assetIndex, amount: gave.amount },
    get: { assetIndex: got.assetIndex, amount: got.amount },
  });
  output.result(
    [`traded in channel ${short(record.channelId)}: gave ${await s.tokens.format(gave.asset, gave.amount)}, got ${await s.tokens.format(got.asset, got.amount)} (state #${agreed.state.nonce})`],
    {
      channelId: record.channelId,
      nonce: agreed.state.nonce.toString(),
      give: await s.tokens.json(gave.asset, { amount: gave.amount, balance: await myBalance(s, record.channelId, gave.asset) }),
      get: await s.tokens.json(got.asset, { amount: got.amount, balance: await myBalance(s, record.channelId, got.asset) }),
    },
  );
}

export async function withdrawCommand(s: Session, output: Output, channel: string, options: { asset?: string; amount?: string }): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const { asset, assetIndex, amount } = await assetAmount(s, record, options.asset, options.amount);
  const outcome = await s.client.withdraw(record.channelId, assetIndex, amount);
  const nonce = (await s.store.channel(record.channelId))?.latest?.state.nonce ?? 0n;
  const claimable = (await claimables(s, record)).filter((c) => c.asset === asset);
  output.result(
    [`withdrew ${await s.tokens.format(asset, amount)} to ${s.address} (state #${nonce}, tx ${outcome.hash})`, ...(await claimableLines(s, claimable))],
    { channelId: record.channelId, nonce: nonce.toString(), ...(await s.tokens.json(asset, { amount })), tx: txJson(outcome), claimable: claimable.length > 0 },
  );
}

export async function closeCommand(s: Session, output: Output, channel: string): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const before = await s.client.balances(record.channelId);
  const outcome = await s.client.close(record.channelId);
  const claimable = await claimables(s, record);
  const payouts = await Promise.all(before.map((b) => s.tokens.json(b.asset, { me: b.me, venue: b.venue })));
  output.result(
    [
      `closed channel ${record.channelId} cooperatively (tx ${outcome.hash})`,
      ...(await Promise.all(before.map(async (b) => `  paid out ${await s.tokens.format(b.asset, b.me)} to you, ${await s.tokens.format(b.asset, b.venue)} to the venue`))),
      ...(await claimableLines(s, claimable)),
    ],
    { channelId: record.channelId, tx: txJson(outcome), payouts, claimable: await Promise.all(claimable.map((c) => s.tokens.json(c.asset, { amount: c.amount }))) },
  );
}

// -------------------------------------------------------------------- on chain, without the venue

async function disputeLine(s: Session, channelId: Bytes32): Promise<{ text: string; data: Record<string, unknown> }> {
  const onChain = await s.chain.channel(channelId);
  if (onChain.phase !== "Disputed") return { text: `  the channel is ${PHASE_NAMES[onChain.phase] ?? onChain.phase}`, data: { status: onChain.phase.toLowerCase() } };
  const now = await s.chain.chainTime();
  const left = onChain.deadline > now ? onChain.deadline - now : 0n;
  return {
    text: `  state #${onChain.nonce} is registered; the challenge period ends ${isoSeconds(onChain.deadline)} (in ${left} s by the chain's clock): then run clearline settle ${channelId}, or keep clearline watch running`,
    data: { status: "disputed", registeredNonce: onChain.nonce.toString(), deadline: isoSeconds(onChain.deadline), secondsLeft: Number(left) },
  };
}

export async function forceCloseCommand(s: Session, output: Output, channel: string): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const nonce = record.latest?.state.nonce ?? 0n;
  const outcome = await s.client.forceClose(record.channelId);
  const dispute = await disputeLine(s, record.channelId);
  output.result(
    [`registered ${nonce === 0n ? "no state (everyone gets their deposits back)" : `our latest state #${nonce}`} on chain for channel ${record.channelId} (tx ${outcome.hash})`, dispute.text],
    { channelId: record.channelId, nonce: nonce.toString(), tx: txJson(outcome), ...dispute.data },
  );
}

export async function challengeCommand(s: Session, output: Output, channel: string): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const nonce = record.latest?.state.nonce ?? 0n;
  const onChain = await s.chain.channel(record.channelId);
  if (onChain.phase !== "Disputed" || onChain.nonce >= nonce) {
    const reason =
      onChain.phase !== "Disputed"
        ? `the channel is ${PHASE_NAMES[onChain.phase] ?? onChain.phase}: no state is registered to challenge`
        : `the registered state #${onChain.nonce} is not older than our latest #${nonce}`;
    output.result(`nothing to challenge: ${reason}`, { channelId: record.channelId, challenged: false, reason, status: onChain.phase.toLowerCase(), nonce: nonce.toString() });
    return;
  }
  const outcome = await s.client.challenge(record.channelId);
  const dispute = await disputeLine(s, record.channelId);
  output.result([`challenged with our latest state #${nonce} in channel ${record.channelId} (tx ${outcome.hash})`, dispute.text], {
    channelId: record.channelId,
    challenged: true,
    nonce: nonce.toString(),
    tx: txJson(outcome),
    ...dispute.data,
  });
}

export async function settleCommand(s: Session, output: Output, channel: string): Promise<void> {
  const record = await resolveChannel(channel, s.store);
  const outcome = await s.client.settle(record.channelId);
  const claimable = await claimables(s, record);
  output.result([`settled channel ${record.channelId} (tx ${outcome.hash})`, ...(await claimableLines(s, claimable))], {
    channelId: record.channelId,
    tx: txJson(outcome),
    claimable: await Promise.all(claimable.map((c) => s.tokens.json(c.asset, { amount: c.amount }))),
  });
}

export async function claimCommand(s: Session, output: Output, options: { asset?: string }): Promise<void> {
  if (options.asset === undefined) throw new CliError("USAGE", "--asset is required (an address, security, cash or a symbol)");
  const candidates = [...new Set((await s.store.channels()).flatMap((r) => r.params.assets))];
  const asset = await resolveAsset(options.asset, s.deployment, s.tokens, candidates);
  const amount = await s.chain.claimableOf(asset, s.address);
  if (amount === 0n) {
    output.result(`nothing to claim: the adjudicator holds no ${(await s.tokens.info(asset)).symbol} for ${s.address}`, { ...(await s.tokens.json(asset, { amount })), tx: null });
    return;
  }
  const outcome = await s.client.claim(asset);
  output.result(`claimed ${await s.tokens.format(asset, amount)} to ${s.address} (tx ${outcome.hash})`, { ...(await s.tokens.json(asset, { amount })), tx: txJson(outcome) });
}
