// Token commands of the issuer (ISSUER_ROLE) and controller (CONTROLLER_ROLE): mint, burn, freeze,
// unfreeze, pause, unpause, forced transfer with a reason, treasury, replacing the rules contract.
// Every argument is checked before anything is sent; the token's own checks follow on chain.
import { getAddress, isAddress, toUtf8Bytes } from "ethers";
import { CliError } from "../cli/errors.js";
import { addressOf, txJson, type IssuerContext } from "./context.js";

/** The longest reason a forced transfer records (bytes of UTF-8): it is stored in an event for good. */
export const MAX_REASON_BYTES = 1_024;

export async function mintCommand(ctx: IssuerContext, to: string, amountText: string): Promise<void> {
  const account = addressOf(ctx.settings, to, "mint <to>");
  const amount = await ctx.parseAmount(amountText);
  const outcome = await ctx.send(ctx.token(), "mint", account, amount);
  const shown = await ctx.amount(amount);
  ctx.output.result(`minted ${shown.human} to ${account}`, { action: "mint", to: account, ...shown.json, ...txJson(outcome) });
}

export async function burnCommand(ctx: IssuerContext, from: string, amountText: string): Promise<void> {
  const account = addressOf(ctx.settings, from, "burn <from>");
  const amount = await ctx.parseAmount(amountText);
  const outcome = await ctx.send(ctx.token(), "burn", account, amount);
  const shown = await ctx.amount(amount);
  ctx.output.result(`burned ${shown.human} of ${account}`, { action: "burn", from: account, ...shown.json, ...txJson(outcome) });
}

export async function freezeCommand(ctx: IssuerContext, who: string, frozen: boolean): Promise<void> {
  const account = addressOf(ctx.settings, who, `${frozen ? "freeze" : "unfreeze"} <account>`);
  const outcome = await ctx.send(ctx.token(), frozen ? "freeze" : "unfreeze", account);
  ctx.output.result(`${frozen ? "froze" : "unfroze"} ${account}`, { action: frozen ? "freeze" : "unfreeze", account, frozen, ...txJson(outcome) });
}

export async function pauseCommand(ctx: IssuerContext, paused: boolean): Promise<void> {
  const outcome = await ctx.send(ctx.token(), paused ? "pause" : "unpause");
  ctx.output.result(paused ? "paused all transfers" : "unpaused transfers", { action: paused ? "pause" : "unpause", paused, ...txJson(outcome) });
}

export async function forceTransferCommand(ctx: IssuerContext, options: { from: string; to: string; amount: string; reason: string }): Promise<void> {
  const from = addressOf(ctx.settings, options.from, "--from");
  const to = addressOf(ctx.settings, options.to, "--to");
  if (from === to) throw new CliError("USAGE", "--from and --to are the same account");
  const reason = options.reason.trim();
  if (reason === "") throw new CliError("USAGE", "--reason must say why (it is recorded on chain in ForcedTransferred)");
  const bytes = toUtf8Bytes(reason);
  if (bytes.length > MAX_REASON_BYTES) throw new CliError("USAGE", `--reason is ${bytes.length} bytes; at most ${MAX_REASON_BYTES}`);
  const amount = await ctx.parseAmount(options.amount);
  const outcome = await ctx.send(ctx.token(), "forceTransfer", from, to, amount, bytes);
  const shown = await ctx.amount(amount);
  ctx.output.result(`forced transfer of ${shown.human} from ${from} to ${to} ("${reason}")`, {
    action: "force-transfer",
    from,
    to,
    reason,
    ...shown.json,
    ...txJson(outcome),
  });
}

export async function setTreasuryCommand(ctx: IssuerContext, who: string): Promise<void> {
  const treasury = who === "none" ? "0x0000000000000000000000000000000000000000" : addressOf(ctx.settings, who, "set-treasury <account>");
  const outcome = await ctx.send(ctx.token(), "setTreasury", treasury);
  ctx.output.result(who === "none" ? "no treasury designated" : `treasury is now ${treasury}`, { action: "set-treasury", treasury, ...txJson(outcome) });
}

export async function replaceRulesCommand(ctx: IssuerContext, rulesText: string): Promise<void> {
  if (!isAddress(rulesText)) throw new CliError("USAGE", `replace-rules <rules>: "${rulesText}" is not an address`);
  const rules = getAddress(rulesText);
  if ((await ctx.provider.getCode(rules)) === "0x") throw new CliError("USAGE", `replace-rules: no contract at ${rules}`);
  const previous = (await ctx.view(ctx.token(), "rules")) as string;
  const outcome = await ctx.send(ctx.token(), "replaceRules", rules);
  ctx.output.result(`rules replaced: ${previous} → ${rules}`, { action: "replace-rules", previousRules: previous, rules, ...txJson(outcome) });
}

/** The token's state for one account, or the token's own facts. */
export async function statusCommand(ctx: IssuerContext, who: string | undefined): Promise<void> {
  const token = ctx.token();
  const facts = await ctx.tokenFacts();
  const rules = await ctx.rules();
  const [paused, supply, treasury, rulesAddress] = await Promise.all([
    ctx.view(token, "paused"),
    ctx.view(token, "totalSupply"),
    ctx.view(token, "treasury"),
    ctx.view(token, "rules"),
  ]);
  const total = await ctx.amount(supply as bigint);
  const lines = [`${facts.symbol} at ${facts.address}: total supply ${total.human}${paused ? ", PAUSED" : ""}`, `rules ${String(rulesAddress)}, treasury ${String(treasury)}`];
  const data: Record<string, unknown> = { token: facts.address, symbol: facts.symbol, decimals: facts.decimals, paused, totalSupply: total.json.amount, totalSupplyUnits: total.json.amountUnits, rules: rulesAddress, treasury };
  if (who !== undefined) {
    const account = addressOf(ctx.settings, who, "status <account>");
    const [balance, frozen, controller, lockup] = await Promise.all([
      ctx.view(token, "balanceOf", account),
      ctx.view(token, "isFrozen", account),
      ctx.view(token, "isController", account),
      ctx.view(rules, "lockupOf", account),
    ]);
    const shown = await ctx.amount(balance as bigint);
    lines.push(`${account}: wallet ${shown.human}${frozen ? ", FROZEN" : ""}${controller ? ", controller" : ""}${(lockup as bigint) > 0n ? `, locked up until ${new Date(Number(lockup) * 1000).toISOString()}` : ""}`);
    data.account = { address: account, balance: shown.json.amount, balanceUnits: shown.json.amountUnits, frozen, controller, lockupUntil: Number(lockup) };
  }
  ctx.output.result(lines, data);
}
