// Identity commands (Jurisdiction): governance appoints and removes validators per attribute type;
// a validator issues attributes with an expiry and revokes what it issued; anyone reads them.
import { CliError } from "../cli/errors.js";
import { addressOf, txJson, type IssuerContext } from "./context.js";

/** The attribute types of docs/compliance.md, by the names the CLI accepts. */
export const ATTRIBUTE_TYPES: Readonly<Record<string, bigint>> = { kyc: 1n, aml: 2n, accredited: 3n, country: 4n, custodian: 5n };
const NAMES = new Map(Object.entries(ATTRIBUTE_TYPES).map(([name, id]) => [id, name.toUpperCase()]));
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;

/** "kyc", "KYC" or a registered type id ("7"). */
export function attributeTypeOf(text: string): bigint {
  const known = ATTRIBUTE_TYPES[text.toLowerCase()];
  if (known !== undefined) return known;
  if (/^\d{1,77}$/.test(text) && BigInt(text) > 0n && BigInt(text) <= MAX_UINT256) return BigInt(text);
  throw new CliError("USAGE", `"${text}" is no attribute type: use ${Object.keys(ATTRIBUTE_TYPES).join(", ")} or a type id`);
}

export const typeName = (id: bigint): string => NAMES.get(id) ?? `type ${id}`;

/**
 * The expiry as unix seconds: an ISO date ("2027-06-30", "2027-06-30T12:00:00Z"), unix seconds, or
 * a duration from the chain's current time ("365d", "12h"). It must lie in the chain's future.
 */
export function expiryOf(text: string, chainNow: bigint): bigint {
  let at: bigint;
  const duration = /^(\d{1,9})([dhm])$/.exec(text);
  if (duration !== null) {
    at = chainNow + BigInt(duration[1]!) * { d: 86_400n, h: 3_600n, m: 60n }[duration[2] as "d" | "h" | "m"];
  } else if (/^\d{1,20}$/.test(text)) {
    at = BigInt(text);
  } else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?$/.test(text) && !Number.isNaN(Date.parse(text))) {
    at = BigInt(Math.floor(Date.parse(text) / 1000));
  } else {
    throw new CliError("USAGE", `--expires "${text}" is neither a date (2027-06-30), unix seconds nor a duration (365d, 12h, 30m)`);
  }
  if (at > MAX_UINT64) throw new CliError("USAGE", `--expires ${text} is beyond what the registry stores (2^64 − 1 seconds)`);
  if (at <= chainNow) throw new CliError("USAGE", `--expires ${text} is not in the future (the chain's time is ${iso(chainNow)})`);
  return at;
}

const iso = (seconds: bigint): string => new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

/** The value to record: flags default to 1; COUNTRY needs an ISO 3166-1 numeric code (1–999). */
export function attributeValueOf(typeId: bigint, text: string | undefined): bigint {
  if (typeId === ATTRIBUTE_TYPES.country) {
    if (text === undefined) throw new CliError("USAGE", "a COUNTRY attribute needs --value <ISO 3166-1 numeric code>, e.g. 276 for Germany");
    return countryOf(text, "--value");
  }
  if (text === undefined) return 1n;
  if (!/^\d{1,78}$/.test(text) || BigInt(text) > MAX_UINT256) throw new CliError("USAGE", `--value must be a whole number, not "${text}"`);
  return BigInt(text);
}

/** An ISO 3166-1 numeric country code, 1–999. */
export function countryOf(text: string, what: string): bigint {
  if (!/^\d{1,3}$/.test(text) || Number(text) === 0) throw new CliError("USAGE", `${what}: "${text}" is not an ISO 3166-1 numeric country code (1–999, e.g. 840 US, 276 DE)`);
  return BigInt(text);
}

async function chainNow(ctx: IssuerContext): Promise<bigint> {
  const block = await ctx.provider.getBlock("latest");
  if (block === null) throw new CliError("CHAIN_UNREACHABLE", "the chain returned no latest block");
  return BigInt(block.timestamp);
}

export async function issueCommand(ctx: IssuerContext, who: string, options: { type: string; value?: string; expires: string }): Promise<void> {
  const account = addressOf(ctx.settings, who, "issue <account>");
  const typeId = attributeTypeOf(options.type);
  const value = attributeValueOf(typeId, options.value);
  const expiresAt = expiryOf(options.expires, await chainNow(ctx));
  const outcome = await ctx.send(await ctx.jurisdiction(), "issueAttribute", account, typeId, value, expiresAt);
  ctx.output.result(`issued ${typeName(typeId)} = ${value} to ${account}, valid until ${iso(expiresAt)}`, {
    action: "issue",
    account,
    type: typeName(typeId),
    typeId: typeId.toString(),
    value: value.toString(),
    expiresAt: Number(expiresAt),
    ...txJson(outcome),
  });
}

export async function revokeCommand(ctx: IssuerContext, who: string, options: { type: string }): Promise<void> {
  const account = addressOf(ctx.settings, who, "revoke <account>");
  const typeId = attributeTypeOf(options.type);
  const outcome = await ctx.send(await ctx.jurisdiction(), "revokeAttribute", account, typeId);
  ctx.output.result(`revoked ${typeName(typeId)} of ${account}`, { action: "revoke", account, type: typeName(typeId), typeId: typeId.toString(), ...txJson(outcome) });
}

export async function validatorCommand(ctx: IssuerContext, who: string, options: { type: string }, approve: boolean): Promise<void> {
  const validator = addressOf(ctx.settings, who, "<validator>");
  const typeId = attributeTypeOf(options.type);
  const outcome = await ctx.send(await ctx.jurisdiction(), approve ? "approveValidator" : "removeValidator", typeId, validator);
  ctx.output.result(`${approve ? "appointed" : "removed"} ${validator} as ${typeName(typeId)} validator`, {
    action: approve ? "appoint-validator" : "remove-validator",
    validator,
    type: typeName(typeId),
    typeId: typeId.toString(),
    ...txJson(outcome),
  });
}

/** Every standard attribute of an account: value, expiry, validator, validity now. */
export async function identityCommand(ctx: IssuerContext, who: string): Promise<void> {
  const account = addressOf(ctx.settings, who, "identity <account>");
  const jurisdiction = await ctx.jurisdiction();
  const rows = await Promise.all(
    Object.values(ATTRIBUTE_TYPES).map(async (typeId) => {
      const [value, expiresAt, validator, valid] = (await ctx.view(jurisdiction, "attributeOf", account, typeId)) as [bigint, bigint, string, boolean];
      return { type: typeName(typeId), typeId: typeId.toString(), present: expiresAt > 0n, value: value.toString(), expiresAt: Number(expiresAt), validator, valid };
    }),
  );
  const lines = [`${account}:`, ...rows.map((r) => `  ${r.type.padEnd(10)} ${r.present ? `${r.value.padEnd(4)} until ${iso(BigInt(r.expiresAt))} by ${r.validator} ${r.valid ? "valid" : "NOT VALID"}` : "none"}`)];
  ctx.output.result(lines, { account, attributes: rows });
}
