// One clearline-issuer invocation's connection: the issuer's (or validator's) wallet on the chain,
// the security token it administers, the token's rules and identity registry (read from the token,
// so they always match what the token enforces), the adjudicator (for the cap table and recovery),
// and one way to send a transaction with progress on stderr and typed errors.
import { Contract, JsonRpcProvider, Wallet, getAddress, isAddress, type ContractTransactionResponse } from "ethers";
import { jurisdictionAbi, restrictedTokenAbi, transferRulesAbi } from "../chain/abi.js";
import { AdjudicatorClient, type TxOutcome } from "../chain/adjudicator.js";
import { ChainError, toChainError } from "../chain/errors.js";
import { CliError } from "../cli/errors.js";
import { formatAmount, parseAmount } from "../cli/amounts.js";
import type { Output } from "../cli/output.js";
import type { Settings } from "../cli/settings.js";
import type { Address } from "../protocol/index.js";

/** The environment variable the issuer's or validator's key comes from (preferred to --key). */
export const ISSUER_KEY_ENV = "CLEARLINE_ISSUER_KEY";

export interface IssuerOptions {
  token?: string;
  key?: string;
}

export interface TokenFacts {
  readonly address: Address;
  readonly symbol: string;
  readonly decimals: number;
}

/** An address option or argument, or a named account of the deployment file ("alice"). */
export function addressOf(settings: Settings, text: string, what: string): Address {
  const named = settings.deployment?.accounts[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!isAddress(text)) throw new CliError("USAGE", `${what}: "${text}" is neither an address nor an account of the deployment file`);
  return getAddress(text);
}

/** The signing key: --key, else CLEARLINE_ISSUER_KEY. Never echoed, not even when malformed. */
export function issuerKey(options: IssuerOptions, env: NodeJS.ProcessEnv = process.env): string {
  const key = (options.key ?? env[ISSUER_KEY_ENV] ?? "").trim();
  if (key === "") throw new CliError("INVALID_KEY", `no key: set ${ISSUER_KEY_ENV} (preferred) or pass --key <hex>`);
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) throw new CliError("INVALID_KEY", "the key must be 32 bytes of hex (64 hex digits, optionally 0x-prefixed)");
  return key.startsWith("0x") ? key : `0x${key}`;
}

export class IssuerContext {
  private constructor(
    readonly settings: Settings,
    readonly output: Output,
    readonly provider: JsonRpcProvider,
    readonly wallet: Wallet | undefined,
    private readonly tokenAddress: Address | undefined,
  ) {}

  /** Connects to the chain (CHAIN_UNREACHABLE / WRONG_CHAIN); the key is read only if `signing`. */
  static async connect(settings: Settings, output: Output, options: IssuerOptions, signing: boolean): Promise<IssuerContext> {
    const tokenText = options.token ?? settings.deployment?.security;
    const token = tokenText === undefined ? undefined : addressOf(settings, tokenText, "--token");
    const key = signing ? issuerKey(options) : undefined;
    const provider = new JsonRpcProvider(settings.rpcUrl(), undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
    let chainId: bigint;
    try {
      chainId = BigInt((await provider.send("eth_chainId", [])) as string);
    } catch {
      provider.destroy();
      throw new CliError("CHAIN_UNREACHABLE", `the JSON-RPC endpoint ${settings.rpcUrl()} does not answer`);
    }
    const expected = settings.deployment?.chainId;
    if (expected !== undefined && expected !== chainId) {
      provider.destroy();
      throw new CliError("WRONG_CHAIN", `${settings.rpcUrl()} serves chain ${chainId}, but ${settings.deployment!.path} names chain ${expected}`);
    }
    return new IssuerContext(settings, output, provider, key === undefined ? undefined : new Wallet(key, provider), token);
  }

  close(): void {
    this.provider.destroy();
  }

  get signer(): Wallet {
    if (this.wallet === undefined) throw new Error("this command was connected without a key");
    return this.wallet;
  }

  private runner(): Wallet | JsonRpcProvider {
    return this.wallet ?? this.provider;
  }

  /** The security token: --token or contracts.token of the deployment file. */
  tokenAddressOrThrow(): Address {
    if (this.tokenAddress === undefined) {
      throw new CliError("MISSING_SETTING", "no token: pass --token <address> or use a deployment file with contracts.token");
    }
    return this.tokenAddress;
  }

  token(): Contract {
    return new Contract(this.tokenAddressOrThrow(), restrictedTokenAbi() as never, this.runner());
  }

  async rules(): Promise<Contract> {
    const address = (await this.view(this.token(), "rules")) as string;
    return new Contract(address, transferRulesAbi() as never, this.runner());
  }

  /** The identity registry: --jurisdiction is not needed, the token's rules name it. */
  async jurisdiction(): Promise<Contract> {
    const address = (await this.view(await this.rules(), "jurisdiction")) as string;
    return new Contract(address, jurisdictionAbi() as never, this.runner());
  }

  async adjudicator(): Promise<AdjudicatorClient> {
    return AdjudicatorClient.connect(this.signer, this.settings.adjudicator(), {
      confirmations: this.settings.confirmations,
      onProgress: (progress) => this.output.progress(progress),
      pollIntervalMs: 200,
    });
  }

  private facts: TokenFacts | undefined;

  async tokenFacts(): Promise<TokenFacts> {
    if (this.facts === undefined) {
      const token = this.token();
      const [symbol, decimals] = await Promise.all([this.view(token, "symbol"), this.view(token, "decimals")]);
      this.facts = { address: this.tokenAddressOrThrow(), symbol: symbol as string, decimals: Number(decimals) };
    }
    return this.facts;
  }

  async parseAmount(text: string): Promise<bigint> {
    const facts = await this.tokenFacts();
    return parseAmount(text, facts.decimals, facts.symbol);
  }

  /** `{ amount: "12.5", amountUnits: "12500000", symbol }` for JSON, and "12.5 CLS" for people. */
  async amount(value: bigint): Promise<{ human: string; json: { amount: string; amountUnits: string; symbol: string; decimals: number } }> {
    const facts = await this.tokenFacts();
    const amount = formatAmount(value, facts.decimals);
    return { human: `${amount} ${facts.symbol}`, json: { amount, amountUnits: value.toString(), symbol: facts.symbol, decimals: facts.decimals } };
  }

  /** A view call; failures become ChainErrors. */
  async view(contract: Contract, method: string, ...args: unknown[]): Promise<unknown> {
    try {
      return await contract.getFunction(method).staticCall(...args);
    } catch (error) {
      throw toChainError(error, method);
    }
  }

  /**
   * Sends `method` (ethers estimates the gas first, so a revert is decoded before anything is
   * signed), reports
   * progress on stderr, and waits for the configured confirmations.
   */
  async send(contract: Contract, method: string, ...args: unknown[]): Promise<TxOutcome> {
    const connected = contract.connect(this.signer) as Contract;
    let tx: ContractTransactionResponse;
    try {
      tx = (await connected.getFunction(method).send(...args)) as ContractTransactionResponse;
    } catch (error) {
      throw toChainError(error, method);
    }
    this.output.progress({ stage: "submitted", action: method, hash: tx.hash });
    const confirmations = this.settings.confirmations;
    let receipt;
    try {
      receipt = await tx.wait(confirmations, 600_000);
    } catch (error) {
      throw toChainError(error, method, tx.hash);
    }
    if (receipt === null) throw new ChainError("UNKNOWN", `${method}: no receipt`, { action: method, transactionHash: tx.hash });
    this.output.progress({ stage: "mined", action: method, hash: tx.hash, blockNumber: receipt.blockNumber });
    this.output.progress({ stage: "confirmed", action: method, hash: tx.hash, blockNumber: receipt.blockNumber, confirmations });
    return { action: method, hash: tx.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt };
  }
}

/** The transaction fields of a command's JSON result. */
export const txJson = (outcome: TxOutcome): { transactionHash: string; blockNumber: number } => ({
  transactionHash: outcome.hash,
  blockNumber: outcome.blockNumber,
});
