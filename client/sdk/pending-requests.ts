// Requests to the node waiting for their answers, matched by id, each bounded by the response timeout.
import type { NodeMessageParsed } from "../protocol/wire.js";
import { ClientError } from "./errors.js";

interface Waiting {
  resolve(message: NodeMessageParsed): void;
  reject(error: Error): void;
}

export class PendingRequests {
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly timeoutMs: number) {}

  /** Calls `send` and resolves with the answer to `id`; TIMEOUT after the timeout, or what `send` throws. */
  wait(id: string, send: () => void): Promise<NodeMessageParsed> {
    return new Promise<NodeMessageParsed>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ClientError("TIMEOUT", `the node did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      try {
        send();
      } catch (error) {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(error as Error);
      }
    });
  }

  /** Hands `message` to the request `id`, if one waits for it. */
  answer(id: string, message: NodeMessageParsed): void {
    this.take(id)?.resolve(message);
  }

  /** Fails the request `id` with `error`; false when none waits for it. */
  refuse(id: string, error: Error): boolean {
    const waiting = this.take(id);
    waiting?.reject(error);
    return waiting !== undefined;
  }

  /** Fails every waiting request with `error` (the connection closed). */
  refuseAll(error: Error): void {
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }

  private take(id: string): Waiting | undefined {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    return waiting;
  }
}
