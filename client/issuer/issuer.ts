#!/usr/bin/env node
// `clearline-issuer`: the issuer's, transfer agent's and identity validator's command line
// (docs/issuer.md). Run as
//   node --import tsx client/issuer/issuer.ts <command> [options]
// Settings come from options, CLEARLINE_ISSUER_KEY and the deployment file `npm start` writes.
import { Command, CommanderError } from "commander";
import { packageVersionOf } from "../package-version.js";
import { EXIT, describeError } from "../cli/errors.js";
import { Output } from "../cli/output.js";
import { DEFAULT_DEPLOYMENT, resolveSettings, type GlobalOptions } from "../cli/settings.js";
import { capTableCommand, type CapTableOptions } from "./captable.js";
import { ISSUER_KEY_ENV, IssuerContext, type IssuerOptions } from "./context.js";
import { deployCommand } from "./deploy.js";
import { identityCommand, issueCommand, revokeCommand, validatorCommand } from "./identity.js";
import { recoverCommand, releaseHeldCommand } from "./recovery.js";
import { accreditationCommand, countryCommand, lockupCommand, maxBalanceCommand, rulesCommand } from "./rules.js";
import {
  burnCommand,
  forceTransferCommand,
  freezeCommand,
  mintCommand,
  pauseCommand,
  replaceRulesCommand,
  setTreasuryCommand,
  statusCommand,
} from "./token.js";

const PROGRAM = "clearline-issuer";
const jsonRequested = process.argv.includes("--json");
let exitCode: number = EXIT.OK;

for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(exitCode);
    throw error;
  });
}

const program = new Command(PROGRAM)
  .description("Clearline issuer, transfer agent and identity validator: token administration, identities, cap table")
  .version(packageVersionOf(import.meta.url), "-V, --version")
  .option("--rpc <url>", "JSON-RPC URL of the chain; default: rpcUrl of the deployment file")
  .option("--token <address>", "the security token; default: contracts.token of the deployment file")
  .option("--adjudicator <address>", "the Adjudicator (cap table, recovery); default: from the deployment file")
  .option("--key <hex>", `the issuer's or validator's private key (prefer the ${ISSUER_KEY_ENV} environment variable: --key shows in the process list)`)
  .option("--deployment <file>", `deployment file (default: ${DEFAULT_DEPLOYMENT} when present)`)
  .option("--confirmations <n>", "confirmations to wait for on chain", "1")
  .option("--json", "machine-readable output: one JSON document on stdout (errors as {\"error\": {code, …}})")
  .exitOverride()
  .configureOutput({
    outputError: (text, write) => {
      if (!jsonRequested) write(`${text}(run clearline-issuer --help for usage)\n`);
    },
  });

program.addHelpText(
  "after",
  `
Accounts are addresses or names of the deployment file's accounts (alice); amounts are decimals in
the token's units (12.5). Attribute types: kyc, aml, accredited, country, custodian or a type id.

Examples:
  export ${ISSUER_KEY_ENV}=0x…
  clearline-issuer cap-table --json
  clearline-issuer freeze alice
  clearline-issuer issue bob --type kyc --expires 365d
  clearline-issuer issue bob --type country --value 276 --expires 2027-12-31
  clearline-issuer mint bob 100
  clearline-issuer force-transfer --from alice --to bob --amount 5 --reason "court order 2026/17"
  clearline-issuer recover alice --to 0x…treasury

Exit codes: 0 done, 1 the operation failed (reverted, refused, unreachable), 2 the command line was
wrong (usage, amount, key, missing setting); nothing is sent when it is 2.`,
);

type Global = GlobalOptions & IssuerOptions;

/** Parses settings, connects, runs `work`, prints a failure; sets the exit code. */
async function run(command: Command, signing: boolean, work: (ctx: IssuerContext) => Promise<void>): Promise<void> {
  const options = command.optsWithGlobals<Global>();
  const output = new Output(options.json === true, undefined, PROGRAM);
  let ctx: IssuerContext | undefined;
  try {
    const settings = resolveSettings(options);
    ctx = await IssuerContext.connect(settings, output, options, signing);
    await work(ctx);
    exitCode = EXIT.OK;
  } catch (error) {
    const described = describeError(error);
    output.failure(described);
    exitCode = described.exitCode;
  } finally {
    ctx?.close();
  }
}

/** A command that sends transactions (needs the key). */
const tx = (work: (ctx: IssuerContext, ...args: never[]) => Promise<void>) =>
  async (...args: unknown[]): Promise<void> => {
    const command = args.at(-1) as Command;
    await run(command, true, (ctx) => (work as (ctx: IssuerContext, ...rest: unknown[]) => Promise<void>)(ctx, ...args.slice(0, -1)));
  };
/** A command that only reads. */
const read = (work: (ctx: IssuerContext, ...args: never[]) => Promise<void>) =>
  async (...args: unknown[]): Promise<void> => {
    const command = args.at(-1) as Command;
    await run(command, false, (ctx) => (work as (ctx: IssuerContext, ...rest: unknown[]) => Promise<void>)(ctx, ...args.slice(0, -1)));
  };

program
  .command("cap-table")
  .description("every holder's balance incl. what it holds inside channels, claimable and held in the adjudicator")
  .option("--block <n>", "as of this block (default: the latest)")
  .option("--from-block <n>", "scan events from this block (default 0: the token's whole history)")
  .option("--log-chunk <n>", "blocks per log query (default 10000)")
  .option("--max-accounts <n>", "refuse to list more accounts than this (default 100000)")
  .option("--all", "also list accounts that hold nothing now")
  .action(read((ctx, options: CapTableOptions) => capTableCommand(ctx, options)));

program
  .command("status")
  .description("the token (supply, pause, rules, treasury) and optionally one account (balance, frozen, lock-up)")
  .argument("[account]", "an address or account name")
  .action(read((ctx, account: string | undefined) => statusCommand(ctx, account)));

program.command("freeze").description("freeze an account (it can neither send nor receive)").argument("<account>").action(tx((ctx, account: string) => freezeCommand(ctx, account, true)));
program.command("unfreeze").description("unfreeze an account").argument("<account>").action(tx((ctx, account: string) => freezeCommand(ctx, account, false)));

program
  .command("issue")
  .description("issue an identity attribute (you must be an approved validator of its type)")
  .argument("<account>")
  .requiredOption("--type <type>", "kyc, aml, accredited, country, custodian or a type id")
  .option("--value <n>", "the value (flags: 1, the default; country: ISO 3166-1 numeric code)")
  .requiredOption("--expires <when>", "a date (2027-06-30), unix seconds or a duration (365d, 12h)")
  .action(tx((ctx, account: string, options: { type: string; value?: string; expires: string }) => issueCommand(ctx, account, options)));

program
  .command("revoke")
  .description("revoke an attribute you issued")
  .argument("<account>")
  .requiredOption("--type <type>", "kyc, aml, accredited, country, custodian or a type id")
  .action(tx((ctx, account: string, options: { type: string }) => revokeCommand(ctx, account, options)));

program.command("identity").description("an account's attributes, their validators, expiry and validity").argument("<account>").action(read((ctx, account: string) => identityCommand(ctx, account)));

program
  .command("appoint-validator")
  .description("approve a validator for an attribute type (registry governance)")
  .argument("<validator>")
  .requiredOption("--type <type>", "kyc, aml, accredited, country, custodian or a type id")
  .action(tx((ctx, validator: string, options: { type: string }) => validatorCommand(ctx, validator, options, true)));

program
  .command("remove-validator")
  .description("remove a validator for an attribute type: everything it issued of that type becomes invalid")
  .argument("<validator>")
  .requiredOption("--type <type>", "kyc, aml, accredited, country, custodian or a type id")
  .action(tx((ctx, validator: string, options: { type: string }) => validatorCommand(ctx, validator, options, false)));

program.command("mint").description("mint to an account (the receiver rules apply)").argument("<account>").argument("<amount>").action(tx((ctx, account: string, amount: string) => mintCommand(ctx, account, amount)));
program.command("burn").description("burn from an account").argument("<account>").argument("<amount>").action(tx((ctx, account: string, amount: string) => burnCommand(ctx, account, amount)));

program
  .command("force-transfer")
  .description("move tokens regardless of the rules, with a reason recorded on chain (controller)")
  .requiredOption("--from <account>")
  .requiredOption("--to <account>")
  .requiredOption("--amount <decimal>")
  .requiredOption("--reason <text>", "why (at most 1024 bytes), e.g. a court order's reference")
  .action(tx((ctx, options: { from: string; to: string; amount: string; reason: string }) => forceTransferCommand(ctx, options)));

program
  .command("recover")
  .description("move a frozen holder's claimable balance out of the adjudicator (controller)")
  .argument("<holder>")
  .requiredOption("--to <account>", "the recipient: a controller or the treasury")
  .action(tx((ctx, holder: string, options: { to: string }) => recoverCommand(ctx, holder, options)));

program
  .command("release-held")
  .description("decide a movement the adjudicator holds: pay it to its receiver, or recover it (controller)")
  .requiredOption("--from <account>", "the held movement's sender")
  .requiredOption("--to <account>", "the held movement's receiver")
  .option("--recipient <account>", "where it goes (default: the receiver; or the sender, a controller, the treasury)")
  .action(tx((ctx, options: { from: string; to: string; recipient?: string }) => releaseHeldCommand(ctx, options)));

program.command("pause").description("pause all transfers").action(tx((ctx) => pauseCommand(ctx, true)));
program.command("unpause").description("unpause transfers").action(tx((ctx) => pauseCommand(ctx, false)));

program
  .command("lockup")
  .description("lock an account's tokens until a time (it may still deposit into channels)")
  .argument("<account>")
  .requiredOption("--until <when>", 'a date (2027-06-30), unix seconds or "none"')
  .action(tx((ctx, account: string, options: { until: string }) => lockupCommand(ctx, account, options)));

program.command("max-balance").description('maximum balance per holder ("none" for no maximum)').argument("<amount>").action(tx((ctx, amount: string) => maxBalanceCommand(ctx, amount)));
program.command("block-country").description("refuse receivers of a country").argument("<code>", "ISO 3166-1 numeric").action(tx((ctx, code: string) => countryCommand(ctx, code, true)));
program.command("unblock-country").description("allow receivers of a country again").argument("<code>", "ISO 3166-1 numeric").action(tx((ctx, code: string) => countryCommand(ctx, code, false)));
program.command("accreditation").description("require receivers to be accredited, or not").argument("<on|off>").action(tx((ctx, setting: string) => accreditationCommand(ctx, setting)));
program.command("rules").description("the transfer rules in force").action(read((ctx) => rulesCommand(ctx)));
program.command("set-treasury").description('designate the recovery treasury ("none" to clear)').argument("<account>").action(tx((ctx, account: string) => setTreasuryCommand(ctx, account)));
program.command("replace-rules").description("replace the token's rules contract").argument("<rules>", "the new TransferRules address").action(tx((ctx, rules: string) => replaceRulesCommand(ctx, rules)));

program
  .command("deploy")
  .description("deploy a restricted token with its own rules on an existing identity registry; you become its admin, issuer and controller")
  .requiredOption("--name <name>")
  .requiredOption("--symbol <symbol>")
  .option("--decimals <n>", "0 to 18", "18")
  .option("--jurisdiction <address>", "the identity registry (default: the one the deployment's token uses)")
  .action(tx((ctx, options: { name: string; symbol: string; decimals: string; jurisdiction?: string }) => deployCommand(ctx, options)));

async function flushAndExit(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) await flushAndExit(0);
    if (jsonRequested) new Output(true, undefined, PROGRAM).failure({ code: "USAGE", source: "cli", message: error.message.replace(/^error: /, ""), exitCode: EXIT.USAGE });
    await flushAndExit(EXIT.USAGE);
  }
  new Output(jsonRequested, undefined, PROGRAM).failure(describeError(error));
  await flushAndExit(EXIT.FAILED);
}
await flushAndExit(exitCode);
