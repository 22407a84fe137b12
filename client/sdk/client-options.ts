// What a ClearlineClient is built from.
import type { Deployment, Signer, Verifier } from "../protocol/index.js";
import type { AdjudicatorClient } from "../chain/adjudicator.js";
import type { ChannelStore } from "../store/store.js";
import type { ClientEvent } from "./events.js";
import type { InvoiceLimits } from "./invoices.js";
import type { ReconnectBackoff } from "./reconnect-backoff.js";

export interface ClientOptions {
  /** ws:// URL of the venue's node. */
  readonly nodeUrl: string;
  /**
   * More ws:// URLs of the same venue (its standby nodes, docs/operations.md "Active and standby"):
   * a connect tries them after `nodeUrl`; when the connection drops the client reconnects to the
   * next one in turn, and resyncs.
   */
  readonly fallbackUrls?: readonly string[];
  /** The investor's channel key. */
  readonly signer: Signer;
  readonly verifier: Verifier;
  readonly store: ChannelStore;
  readonly deployment: Deployment;
  /** On-chain operations (open, deposit, withdraw, close, disputes); optional for off-chain-only use. */
  readonly chain?: AdjudicatorClient;
  /** How long to wait for an answer from the node (ms). */
  readonly responseTimeoutMs?: number;
  /** Bounds of the invoices the client issues (defaults: DEFAULT_INVOICE_LIMITS). */
  readonly invoices?: Partial<InvoiceLimits>;
  /** Reconnect (with resync) when the connection drops. Default true. */
  readonly reconnect?: boolean;
  /** The waits between reconnect attempts (docs/sdk.md, "Reconnecting"; defaults: DEFAULT_RECONNECT_BACKOFF). */
  readonly reconnectBackoff?: Partial<ReconnectBackoff>;
  /** Notified of what happens (proposals from the venue, reconnects). */
  readonly onEvent?: (event: ClientEvent) => void;
}
