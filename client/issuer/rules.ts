// Transfer-rule commands (TransferRules, RULES_ADMIN_ROLE): lock-ups, the maximum balance, blocked
// countries, the accreditation requirement; and `rules` to show the configuration in force.
import { CliError } from "../cli/errors.js";
import { addressOf, txJson, type IssuerContext } from "./context.js";
import { countryOf } from "./identity.js";

const MAX_UINT64 = (1n << 64n) - 1n;

/** A lock-up end: an ISO date, unix seconds, or "none" (0: no lock-up). */
export function lockupUntilOf(text: string): bigint {
  if (text === "none") return 0n;
  let at: bigint;
  if (/^\d{1,20}$/.test(text)) at = BigInt(text);
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?$/.test(text) && !Number.isNaN(Date.parse(text))) at = BigInt(Math.floor(Date.parse(text) / 1000));
  else throw new CliError("USAGE", `--until "${text}" is neither a date (2027-06-30), unix seconds nor "none"`);
  if (at > MAX_UINT64) throw new CliError("USAGE", `--until ${text} is beyond 2^64 − 1 seconds`);
  return at;
}

export async function lockupCommand(ctx: IssuerContext, who: string, options: { until: string }): Promise<void> {
  const holder = addressOf(ctx.settings, who, "lockup <holder>");
  const until = lockupUntilOf(options.until);
  const outcome = await ctx.send(await ctx.rules(), "setLockup", holder, until);
  const when = until === 0n ? "no lock-up" : `locked up until ${new Date(Number(until) * 1000).toISOString()}`;
  ctx.output.result(`${holder}: ${when}`, { action: "lockup", holder, until: Number(until), ...txJson(outcome) });
}

export async function maxBalanceCommand(ctx: IssuerContext, amountText: string): Promise<void> {
  const amount = amountText === "none" ? 0n : await ctx.parseAmount(amountText);
  const outcome = await ctx.send(await ctx.rules(), "setMaxBalance", amount);
  const shown = await ctx.amount(amount);
  ctx.output.result(amount === 0n ? "no maximum balance" : `maximum balance per holder: ${shown.human}`, { action: "max-balance", ...shown.json, ...txJson(outcome) });
}

export async function countryCommand(ctx: IssuerContext, codeText: string, blocked: boolean): Promise<void> {
  const country = countryOf(codeText, `${blocked ? "block" : "unblock"}-country <code>`);
  const outcome = await ctx.send(await ctx.rules(), "setCountryBlocked", country, blocked);
  ctx.output.result(`country ${country} ${blocked ? "blocked" : "unblocked"}`, { action: blocked ? "block-country" : "unblock-country", country: Number(country), blocked, ...txJson(outcome) });
}

export async function accreditationCommand(ctx: IssuerContext, setting: string): Promise<void> {
  if (setting !== "on" && setting !== "off") throw new CliError("USAGE", `accreditation takes on or off, not "${setting}"`);
  const outcome = await ctx.send(await ctx.rules(), "setAccreditationRequired", setting === "on");
  ctx.output.result(`accreditation ${setting === "on" ? "required" : "not required"}`, { action: "accreditation", required: setting === "on", ...txJson(outcome) });
}

export async function rulesCommand(ctx: IssuerContext): Promise<void> {
  const rules = await ctx.rules();
  const [jurisdiction, accreditation, countries, maxBalance] = (await Promise.all([
    ctx.view(rules, "jurisdiction"),
    ctx.view(rules, "accreditationRequired"),
    ctx.view(rules, "blockedCountries"),
    ctx.view(rules, "maxBalance"),
  ])) as [string, boolean, bigint[], bigint];
  const shown = await ctx.amount(maxBalance);
  const blocked = Array.from(countries, Number);
  ctx.output.result(
    [
      `rules ${await rules.getAddress()} (identity registry ${jurisdiction})`,
      `accreditation ${accreditation ? "required" : "not required"}`,
      `blocked countries: ${blocked.length === 0 ? "none" : blocked.join(", ")}`,
      `maximum balance: ${maxBalance === 0n ? "none" : shown.human}`,
    ],
    { rules: await rules.getAddress(), jurisdiction, accreditationRequired: accreditation, blockedCountries: blocked, maxBalance: shown.json.amount, maxBalanceUnits: shown.json.amountUnits },
  );
}
