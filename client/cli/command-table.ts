// The commands that work on the investor's store, by name: clearline.ts runs them in its own process,
// or — while `clearline daemon` holds the store — sends the name, the arguments and the options to the
// daemon, which runs the same entry over its own session (control.ts). Options cross the control
// socket as JSON, so each entry reads them by name and type rather than trusting their shape.
import {
  balancesCommand,
  challengeCommand,
  channelsCommand,
  claimCommand,
  closeCommand,
  depositCommand,
  forceCloseCommand,
  historyCommand,
  openCommand,
  payCommand,
  settleCommand,
  tradeCommand,
  withdrawCommand,
} from "./commands.js";
import { CliError } from "./errors.js";
import type { Output } from "./output.js";
import type { Session } from "./session.js";
import { bookCommand, checkPlaceOptions, fillsCommand, orderCancelCommand, orderListCommand, orderPlaceCommand, receiptsAuditCommand, receiptsVerifyCommand, type PlaceOptions } from "./trading.js";

/** A command's options as commander parses them (and as they cross the control socket). */
export type CommandOptions = Readonly<Record<string, string | boolean | undefined>>;

export interface StoreCommand {
  /** Run in its own process, it connects to the venue's node first. */
  readonly node: boolean;
  /** Number of positional arguments. */
  readonly arity: 0 | 1;
  /** Checks that need neither the chain nor the node (USAGE before anything is opened or sent). */
  readonly check?: (options: CommandOptions) => void;
  readonly run: (s: Session, output: Output, positional: readonly string[], options: CommandOptions) => Promise<number | void>;
}

function text(options: CommandOptions, name: string): string | undefined {
  const value = options[name];
  if (value === undefined || typeof value === "string") return value;
  throw new CliError("BAD_CONTROL_REQUEST", `option ${name} must be text, not ${typeof value}`);
}

function flag(options: CommandOptions, name: string): boolean | undefined {
  const value = options[name];
  if (value === undefined || typeof value === "boolean") return value;
  throw new CliError("BAD_CONTROL_REQUEST", `option ${name} must be true or false, not ${typeof value}`);
}

function required(options: CommandOptions, name: string): string {
  const value = text(options, name);
  if (value === undefined) throw new CliError("USAGE", `--${name} is required`);
  return value;
}

const first = (positional: readonly string[]): string => positional[0] ?? "";

const place = (o: CommandOptions): PlaceOptions => ({
  side: required(o, "side"),
  quantity: required(o, "quantity"),
  price: required(o, "price"),
  lot: text(o, "lot"),
  expiry: text(o, "expiry"),
  clientId: text(o, "clientId"),
  ioc: flag(o, "ioc"),
  anchor: text(o, "anchor"),
});

const asset = (o: CommandOptions) => ({ asset: text(o, "asset"), amount: text(o, "amount") });

export const STORE_COMMANDS = {
  channels: { node: false, arity: 0, run: (s, o, _p, x) => channelsCommand(s, o, { prune: flag(x, "prune") }) },
  open: {
    node: true,
    arity: 0,
    run: (s, o, _p, x) => openCommand(s, o, { ...asset(x), assets: text(x, "assets"), challengePeriod: text(x, "challengePeriod") }),
  },
  deposit: { node: true, arity: 1, run: (s, o, p, x) => depositCommand(s, o, first(p), asset(x)) },
  pay: { node: true, arity: 1, run: (s, o, p, x) => payCommand(s, o, first(p), { ...asset(x), to: text(x, "to"), memo: text(x, "memo") }) },
  trade: { node: true, arity: 1, run: (s, o, p, x) => tradeCommand(s, o, first(p), { give: text(x, "give"), get: text(x, "get") }) },
  withdraw: { node: true, arity: 1, run: (s, o, p, x) => withdrawCommand(s, o, first(p), asset(x)) },
  close: { node: true, arity: 1, run: (s, o, p) => closeCommand(s, o, first(p)) },
  "force-close": { node: false, arity: 1, run: (s, o, p) => forceCloseCommand(s, o, first(p)) },
  challenge: { node: false, arity: 1, run: (s, o, p) => challengeCommand(s, o, first(p)) },
  settle: { node: false, arity: 1, run: (s, o, p) => settleCommand(s, o, first(p)) },
  claim: { node: false, arity: 0, run: (s, o, _p, x) => claimCommand(s, o, { asset: text(x, "asset") }) },
  balances: { node: false, arity: 1, run: (s, o, p) => balancesCommand(s, o, first(p)) },
  history: { node: false, arity: 1, run: (s, o, p, x) => historyCommand(s, o, first(p), { limit: text(x, "limit") }) },
  "order place": { node: true, arity: 0, check: (x) => checkPlaceOptions(place(x)), run: (s, o, _p, x) => orderPlaceCommand(s, o, place(x)) },
  "order cancel": { node: true, arity: 1, run: (s, o, p, x) => orderCancelCommand(s, o, first(p), { anchor: text(x, "anchor") }) },
  "order list": { node: true, arity: 0, run: (s, o, _p, x) => orderListCommand(s, o, { anchor: text(x, "anchor") }) },
  fills: { node: true, arity: 0, run: (s, o, _p, x) => fillsCommand(s, o, { anchor: text(x, "anchor"), limit: text(x, "limit") }) },
  book: { node: true, arity: 0, run: (s, o, _p, x) => bookCommand(s, o, { anchor: text(x, "anchor"), levels: text(x, "levels") }) },
  "receipts audit": { node: true, arity: 0, run: (s, o, _p, x) => receiptsAuditCommand(s, o, { anchor: text(x, "anchor"), maxEntries: text(x, "maxEntries"), matching: text(x, "matching") }) },
  "receipts verify": { node: true, arity: 1, run: (s, o, p, x) => receiptsVerifyCommand(s, o, first(p), { anchor: text(x, "anchor") }) },
} satisfies Record<string, StoreCommand>;

export type StoreCommandName = keyof typeof STORE_COMMANDS;

export const STORE_COMMAND_NAMES = Object.keys(STORE_COMMANDS) as [StoreCommandName, ...StoreCommandName[]];
