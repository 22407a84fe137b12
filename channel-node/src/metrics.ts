// Prometheus metrics of the node (prom-client), served on /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    connections: new Gauge({ name: "clearline_connections", help: "Open investor connections", registers: [registry] }),
    channels: new Gauge({ name: "clearline_channels", help: "Channels by status", labelNames: ["status"], registers: [registry] }),
    updates: new Counter({ name: "clearline_updates_total", help: "Agreed updates by kind and proposer", labelNames: ["kind", "proposer"], registers: [registry] }),
    rejections: new Counter({ name: "clearline_rejections_total", help: "Rejected proposals and messages by code", labelNames: ["code"], registers: [registry] }),
    updateLatency: new Histogram({
      name: "clearline_update_seconds",
      help: "Time from receiving a proposal to sending the countersignature (validated, persisted)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    storeBatchSeconds: new Histogram({
      name: "clearline_store_batch_seconds",
      help: "Time of each write batch of the channel store, from the call to durable (LevelDB: written and fsync'd; PostgreSQL: committed); every countersignature in a batch waits for it",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    chainEvents: new Counter({ name: "clearline_chain_events_total", help: "Chain events applied by name", labelNames: ["event"], registers: [registry] }),
    lastBlock: new Gauge({ name: "clearline_last_processed_block", help: "Last block the watcher processed", registers: [registry] }),
    connectionRefusals: new Counter({
      name: "clearline_connection_refusals_total",
      help: "Connections closed or refused at a bound: handshake_timeout, login_rate, max_connections, max_connections_per_address, tcp_max_connections",
      labelNames: ["bound"],
      registers: [registry],
    }),
    adminRefusals: new Counter({ name: "clearline_admin_refusals_total", help: "Refused admin API requests by code", labelNames: ["code"], registers: [registry] }),
    complianceRefusals: new Counter({
      name: "clearline_compliance_refusals_total",
      help: "Proposals and payment requests refused by a transfer rule (NON_COMPLIANT), by the rule's ERC-1404 name",
      labelNames: ["rule"],
      registers: [registry],
    }),
    healthy: new Gauge({ name: "clearline_health_check", help: "Result of the last /health check (1 passed, 0 failed)", labelNames: ["check"], registers: [registry] }),
    boundRefusals: new Counter({ name: "clearline_bound_refusals_total", help: "Requests refused at an engine bound, by reason (the wire code)", labelNames: ["reason"], registers: [registry] }),
    proposedChannelsPruned: new Counter({ name: "clearline_proposed_channels_pruned_total", help: "Registered channels forgotten because they were not opened on chain in time", registers: [registry] }),
    disputeActions: new Counter({ name: "clearline_dispute_actions_total", help: "Watchtower transactions by action", labelNames: ["action"], registers: [registry] }),
    // Trading (docs/trading.md, "At the node").
    orderLogEntries: new Gauge({ name: "clearline_order_log_entries", help: "Entries in the venue's order log", registers: [registry] }),
    restingOrders: new Gauge({ name: "clearline_resting_orders", help: "Orders resting on the venue's books", registers: [registry] }),
    // Chain facts (docs/operations.md, "Chain facts").
    chainClockDrift: new Gauge({ name: "clearline_chain_clock_drift_seconds", help: "The chain's time minus the host's clock at the last read", registers: [registry] }),
    chainViewAge: new Gauge({ name: "clearline_chain_view_age_seconds", help: "Seconds since the node last read the chain's time (updates are refused beyond chainFacts.maxViewAgeMs)", registers: [registry] }),
    newHeadsSubscribed: new Gauge({ name: "clearline_new_heads_subscribed", help: "1 while the new-block subscription is live, 0 while the node only polls", registers: [registry] }),
  };
}

export type NodeMetrics = ReturnType<typeof createMetrics>;

/** Counts a refusal sent to an investor: by its code, and by its rule when a transfer rule refused. */
export function countRejection(metrics: NodeMetrics, rejection: { readonly code: string; readonly restriction?: { readonly rule: string } }): void {
  metrics.rejections.inc({ code: rejection.code });
  if (rejection.restriction !== undefined) metrics.complianceRefusals.inc({ rule: rejection.restriction.rule });
}
