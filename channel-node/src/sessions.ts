// Investors online: one authenticated session per investor, the newest replacing the older.
import type { Address } from "../../client/protocol/index.js";
import type { Session } from "./transport.js";

export class Sessions {
  private readonly byInvestor = new Map<Address, Session>();

  /** Registers `session`, closing the investor's older one. */
  attach(session: Session): void {
    this.byInvestor.get(session.address)?.close(4000, "replaced by a newer session");
    this.byInvestor.set(session.address, session);
  }

  detach(session: Session): void {
    if (this.byInvestor.get(session.address) === session) this.byInvestor.delete(session.address);
  }

  get(investor: Address): Session | undefined {
    return this.byInvestor.get(investor);
  }

  has(investor: Address): boolean {
    return this.byInvestor.has(investor);
  }
}
