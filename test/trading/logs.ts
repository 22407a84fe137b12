/**
 * Random order logs for replay and audit tests: investors place orders (some expiring, some IOC)
 * and cancel their own earlier ones while time moves on; the fills come from a matcher passed in —
 * the real one, or a deliberately wrong one. Signatures are placeholders: replay and audit read
 * the orders, they do not check signatures (verifySignedOrder does).
 */
import fc from "fast-check";
import {
  applyEntry,
  emptyBook,
  orderHashOf,
  type Book,
  type CancelEntry,
  type FillEntry,
  type LogEntry,
  type OrderEntry,
  type Side,
} from "../../client/protocol/trading/index.js";
import { DOMAIN, MARKET, NOW, alice, bob, order, venue } from "./fixtures.js";

export const INVESTORS = [alice.address, bob.address, venue.address];
const SIGNATURE = `0x${"11".repeat(64)}1b`;

export interface Step {
  readonly kind: "order" | "cancel";
  readonly investor: number;
  readonly side: Side;
  readonly price: bigint;
  readonly lots: bigint;
  readonly ioc: boolean;
  readonly expiry: bigint | undefined;
  readonly dt: bigint;
  readonly pick: number;
}

export const stepsArb: fc.Arbitrary<Step[]> = fc.array(
  fc.record({
    kind: fc.constantFrom<"order" | "cancel">("order", "order", "order", "cancel"),
    investor: fc.nat({ max: 2 }),
    side: fc.constantFrom<Side>("buy", "sell"),
    price: fc.bigInt({ min: 97n, max: 103n }),
    lots: fc.bigInt({ min: 1n, max: 4n }),
    ioc: fc.boolean(),
    expiry: fc.option(fc.bigInt({ min: 1n, max: 20n }), { nil: undefined }),
    dt: fc.bigInt({ min: 0n, max: 3n }),
    pick: fc.nat(),
  }),
  { maxLength: 80 },
);

/** Decides the fills of an accepted order or cancel entry; `orders` holds the order entries so far. */
export type Matcher = (entry: OrderEntry | CancelEntry, orders: ReadonlyMap<bigint, OrderEntry>) => FillEntry[];

/** The real matcher, through `applyEntry`. */
export function realMatcher(): Matcher {
  let book: Book = emptyBook(MARKET);
  return (entry, orders) => {
    const applied = applyEntry(book, entry, (sequence) => orders.get(sequence), DOMAIN);
    book = applied.outcome.book;
    return applied.fills;
  };
}

/** The log the steps produce with `matcher` deciding the fills. */
export function buildLog(steps: readonly Step[], matcher: Matcher): LogEntry[] {
  const entries: LogEntry[] = [];
  const orders = new Map<bigint, OrderEntry>();
  let time = NOW;
  let nonce = 0n;
  for (const step of steps) {
    time += step.dt;
    const sequence = BigInt(entries.length);
    let entry: OrderEntry | CancelEntry;
    const own = [...orders.values()].filter((o) => o.signed.order.investor === INVESTORS[step.investor]);
    if (step.kind === "cancel" && own.length > 0) {
      const target = own[step.pick % own.length] as OrderEntry;
      entry = {
        kind: "cancel",
        sequence,
        receivedAt: time,
        target: target.sequence,
        signed: { cancel: { investor: target.signed.order.investor, orderHash: orderHashOf(target.signed.order, DOMAIN) }, signature: SIGNATURE },
      };
    } else {
      const ioc = step.ioc && step.pick % 3 === 0;
      entry = {
        kind: "order",
        sequence,
        receivedAt: time,
        signed: {
          order: order({
            investor: INVESTORS[step.investor] as string,
            side: step.side,
            price: step.price,
            quantity: step.lots * MARKET.lotSize,
            timeInForce: ioc ? "IOC" : "GTC",
            expiresAt: ioc || step.expiry === undefined ? 0n : time + step.expiry,
            nonce: ++nonce,
          }),
          signature: SIGNATURE,
        },
      };
    }
    entries.push(entry);
    if (entry.kind === "order") orders.set(sequence, entry);
    entries.push(...matcher(entry, orders));
  }
  return entries;
}
