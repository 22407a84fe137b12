// The controller's powers inside layer two (Adjudicator): recover a frozen holder's claimable
// balance, and decide a movement the adjudicator holds because the token's rules refused it
// (release it to its receiver, or recover it to the sender, the controller or the treasury).
import { CliError } from "../cli/errors.js";
import { addressOf, txJson, type IssuerContext } from "./context.js";

export async function recoverCommand(ctx: IssuerContext, who: string, options: { to: string }): Promise<void> {
  const holder = addressOf(ctx.settings, who, "recover <holder>");
  const recipient = addressOf(ctx.settings, options.to, "--to");
  const token = ctx.tokenAddressOrThrow();
  const adjudicator = await ctx.adjudicator();
  // Checked before sending so that the refusal names the fix; the contract checks the same.
  if (!((await ctx.view(ctx.token(), "isFrozen", holder)) as boolean)) {
    throw new CliError("USAGE", `${holder} is not frozen: freeze it first (the adjudicator recovers only a frozen holder's claimable balance)`);
  }
  const amount = await adjudicator.claimableOf(token, holder);
  if (amount === 0n) throw new CliError("USAGE", `${holder} has nothing claimable in the adjudicator`);
  const outcome = await adjudicator.recoverClaimable(token, holder, recipient);
  const shown = await ctx.amount(amount);
  ctx.output.result(`recovered ${shown.human} claimable by ${holder} to ${recipient}`, { action: "recover", holder, recipient, ...shown.json, ...txJson(outcome) });
}

export async function releaseHeldCommand(ctx: IssuerContext, options: { from: string; to: string; recipient?: string }): Promise<void> {
  const from = addressOf(ctx.settings, options.from, "--from");
  const to = addressOf(ctx.settings, options.to, "--to");
  const recipient = options.recipient === undefined ? to : addressOf(ctx.settings, options.recipient, "--recipient");
  const token = ctx.tokenAddressOrThrow();
  const adjudicator = await ctx.adjudicator();
  const amount = await adjudicator.heldOf(token, from, to);
  if (amount === 0n) throw new CliError("USAGE", `the adjudicator holds nothing from ${from} to ${to}`);
  const outcome = await adjudicator.releaseHeld(token, from, to, recipient);
  const shown = await ctx.amount(amount);
  const what = recipient === to ? "released" : "recovered";
  ctx.output.result(`${what} ${shown.human} held from ${from} to ${to}: paid to ${recipient}`, { action: "release-held", from, to, recipient, ...shown.json, ...txJson(outcome) });
}
