// The shapes of the node's console data (channel-node/src/console/views.ts and cap-tables.ts).

export interface Money {
  readonly amount: string;
  readonly units: string;
  readonly symbol: string;
}

export interface Overview {
  readonly version: string;
  readonly venue: string;
  readonly chainId: string;
  readonly lastProcessedBlock: number | null;
  readonly chainTime: string | null;
  readonly channels: Record<string, number>;
  readonly valueLocked: (Money & { asset: string })[];
}

export interface Deadline {
  readonly nonce: string;
  readonly deadline: string;
  readonly at: string;
  readonly secondsLeft: number | null;
}

export interface ChannelRow {
  readonly channelId: string;
  readonly investor: string;
  readonly status: string;
  readonly nonce: string;
  readonly balances: { asset: string; symbol: string; venue: string; investor: string }[];
  readonly dispute: Deadline | null;
}

export interface Channels {
  readonly total: number;
  readonly channels: ChannelRow[];
}

export interface Activity {
  readonly t: number[];
  readonly updatesPerSecond: number[];
  readonly latencyMs: (number | null)[];
  readonly updatesTotal: number;
}

export interface Refusals {
  readonly refusals: { metric: string; help: string; reason: string; count: number }[];
}

export interface CapTable {
  readonly token: string;
  readonly symbol: string;
  readonly block: number;
  readonly totalSupply: string;
  readonly holdersTotal: number;
  readonly holders: { address: string; frozen: boolean; wallet: string; channels: string; claimable: string; held: string; total: string }[];
  readonly custody: { balance: string; attributed: string; unattributed: string };
}

export interface Issuer {
  readonly readAt: number;
  readonly tables: CapTable[];
}

export interface Level {
  readonly price: string;
  readonly quantity: string;
  readonly orders: number;
}

export interface Trading {
  readonly enabled: boolean;
  readonly markets: {
    security: string;
    cash: string;
    securitySymbol: string;
    cashSymbol: string;
    lot: string;
    bids: Level[];
    asks: Level[];
    fills: { sequence: string; takerSide: string; price: string; quantity: string; maker: string | null; taker: string; at: string; state: string }[];
  }[];
}
