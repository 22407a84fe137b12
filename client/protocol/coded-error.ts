/**
 * The base of the typed errors (in the style of ethers v6's `makeError`/`isError`): a stable,
 * machine-readable `code`, the message for a person without it (`shortMessage`), the context that
 * explains it (`details`), and `message` = `${shortMessage} (code=${code})`. Each domain (protocol,
 * trading, store, chain, the node's parts) extends it with its own name and code list. An error
 * whose message is shown or sent as is — on the wire, by the CLIs, in the admin API's JSON — is built
 * with `codeSuffix: false`: its `message` is its `shortMessage`, and whoever shows it adds the code
 * in its own way. `isCodedError` is the guard behind every domain's `isXError(error, code?)`.
 */

/** Context that explains an error; bigints are kept as bigints. */
export type ErrorDetails = Readonly<Record<string, string | number | bigint | boolean | null>>;

export interface CodedErrorOptions {
  readonly cause?: unknown;
  /** false: `message` is `shortMessage` as is (default true: with ` (code=…)` appended). */
  readonly codeSuffix?: boolean;
}

export class CodedError<C extends string, D extends object = ErrorDetails> extends Error {
  override readonly name: string = "CodedError";
  readonly code: C;
  /** The message without the code suffix, for showing to a person. */
  readonly shortMessage: string;
  readonly details: D;

  // Every details type of the domains is all-optional, so an empty object is a valid default.
  constructor(code: C, shortMessage: string, details: D = {} as D, options: CodedErrorOptions = {}) {
    const { codeSuffix = true, ...errorOptions } = options;
    super(codeSuffix ? `${shortMessage} (code=${code})` : shortMessage, errorOptions);
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = details;
  }
}

/** A class of coded errors (its constructor's parameters do not matter to a guard). */
type CodedClass<E extends Error & { readonly code: string }> = abstract new (...args: never[]) => E;

/**
 * Whether `error` is an instance of `errorClass`, optionally with the given code. Each domain's
 * `isXError` wraps it to narrow to its own class and code (a generic class's code parameter cannot
 * be narrowed from here).
 */
export function isCodedError<E extends Error & { readonly code: string }>(error: unknown, errorClass: CodedClass<E>, code?: string): error is E {
  return error instanceof errorClass && (code === undefined || error.code === code);
}
