// The node's last report of each channel (status, confirmed deposits), and waiting for a report.
import type { Bytes32 } from "../protocol/index.js";
import type { ChannelView } from "../protocol/wire.js";
import { ClientError } from "./errors.js";

export class ChannelReports {
  private readonly reports = new Map<Bytes32, ChannelView>();
  private readonly listeners = new Set<(report: ChannelView) => void>();

  get(channelId: Bytes32): ChannelView | undefined {
    return this.reports.get(channelId);
  }

  /** Replaces the report of a channel (listeners are told only of `updated` ones). */
  set(report: ChannelView): void {
    this.reports.set(report.channelId, report);
  }

  delete(channelId: Bytes32): void {
    this.reports.delete(channelId);
  }

  /** Takes in the node's new status and deposits of a channel it reported before, and tells the waiting. */
  updated(channelId: Bytes32, change: Pick<ChannelView, "status" | "deposits">): void {
    const report = this.reports.get(channelId);
    if (report === undefined) return;
    const updated = { ...report, status: change.status, deposits: change.deposits };
    this.reports.set(channelId, updated);
    for (const listener of this.listeners) listener(updated);
  }

  /** Resolves with the first report of `channelId` (the current one too) that satisfies `predicate`; TIMEOUT after `timeoutMs`. */
  waitFor(channelId: Bytes32, predicate: (report: ChannelView) => boolean, timeoutMs = 60_000): Promise<ChannelView> {
    const current = this.reports.get(channelId);
    if (current !== undefined && predicate(current)) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new ClientError("TIMEOUT", `the venue did not confirm the channel's on-chain state within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (report: ChannelView): void => {
        if (report.channelId !== channelId || !predicate(report)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(report);
      };
      this.listeners.add(listener);
    });
  }
}
