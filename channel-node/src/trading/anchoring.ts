// Anchors the order log's root on chain (OrderLogAnchor.anchor) at an interval, whenever the log grew
// since the last anchor. A failed transaction is logged and retried at the next interval.
import { Contract, type Signer as EthersSigner } from "ethers";
import type { Logger } from "pino";
import type { Address } from "../../../client/protocol/types.js";

const ANCHOR_ABI = [
  "function anchor(uint64 size, bytes32 root)",
  "function latestCheckpoint() view returns (uint64 size, bytes32 root, uint64 anchoredAt)",
];

export interface Anchoring {
  /** Anchors now if the log grew; resolves with the anchored size (or the previous one). */
  anchorNow(): Promise<bigint>;
  stop(): void;
}

export async function startAnchoring(options: {
  readonly anchor: Address;
  readonly wallet: EthersSigner;
  readonly intervalMs: number;
  readonly log: () => { size: number; root: string };
  readonly logger: Logger;
}): Promise<Anchoring> {
  const contract = new Contract(options.anchor, ANCHOR_ABI, options.wallet);
  let anchored = ((await contract.getFunction("latestCheckpoint")()) as [bigint, string, bigint])[0];
  let running: Promise<bigint> | undefined;
  const anchorNow = (): Promise<bigint> => {
    running ??= (async () => {
      const { size, root } = options.log();
      if (BigInt(size) <= anchored) return anchored;
      const tx = (await contract.getFunction("anchor")(size, root)) as { wait(): Promise<unknown> };
      await tx.wait();
      anchored = BigInt(size);
      options.logger.info({ size, root }, "order log anchored");
      return anchored;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer =
    options.intervalMs > 0
      ? setInterval(() => anchorNow().catch((error: unknown) => options.logger.warn({ err: error }, "anchoring the order log failed; retrying at the next interval")), options.intervalMs)
      : undefined;
  timer?.unref();
  return { anchorNow, stop: () => clearInterval(timer) };
}
