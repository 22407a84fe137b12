// The console's pages: overview (value locked, live update rate and latency, refusals), channels
// (disputes with deadlines, every channel's balances), issuer (cap tables) and trading (books, fills).
import type { ComponentChildren } from "preact";
import { usePolled, type Polled } from "./api.js";
import { Chart } from "./chart.js";
import type { Activity, Channels, Deadline, Issuer, Overview, Refusals, Trading } from "./types.js";

const short = (hex: string): string => `${hex.slice(0, 10)}…${hex.slice(-4)}`;

function Loading<T>({ polled, children }: { polled: Polled<T>; children: (data: T) => ComponentChildren }) {
  if (polled.data === undefined) {
    return polled.error === undefined ? <p class="muted">loading…</p> : <p class="error">{polled.error.message} ({polled.error.code})</p>;
  }
  return (
    <>
      {polled.error !== undefined && <p class="error">not refreshed: {polled.error.message} ({polled.error.code})</p>}
      {children(polled.data)}
    </>
  );
}

function inWords(seconds: number | null): string {
  if (seconds === null) return "";
  const abs = Math.abs(seconds);
  const text = abs >= 86_400 ? `${Math.floor(abs / 86_400)} d ${Math.floor((abs % 86_400) / 3600)} h` : abs >= 3600 ? `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min` : abs >= 60 ? `${Math.floor(abs / 60)} min ${abs % 60} s` : `${abs} s`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

const DeadlineCell = ({ dispute }: { dispute: Deadline }) => (
  <span title={`settles at nonce ${dispute.nonce}`}>
    {dispute.at.replace("T", " ").replace(/\.\d+Z$/, " UTC")} <span class="muted">({inWords(dispute.secondsLeft)})</span>
  </span>
);

export function OverviewPage(_props: { venue: string | undefined }) {
  const overview = usePolled<Overview>("overview", 1_000);
  const activity = usePolled<Activity>("activity", 1_000);
  const refusals = usePolled<Refusals>("refusals", 2_000);
  return (
    <>
      <section>
        <h2>Value locked in channels</h2>
        <Loading polled={overview}>
          {(o) => (
            <div class="cards" data-testid="value-locked">
              {o.valueLocked.map((v) => (
                <div class="card" key={v.asset} title={`${v.units} smallest units of ${v.asset}`}>
                  <div class="big">
                    {v.amount} <span class="symbol">{v.symbol}</span>
                  </div>
                </div>
              ))}
              <div class="card">
                <div class="big" data-testid="channel-counts">
                  {o.channels.open ?? 0} open · {o.channels.disputed ?? 0} disputed · {o.channels.proposed ?? 0} proposed · {o.channels.concluded ?? 0} concluded
                </div>
              </div>
            </div>
          )}
        </Loading>
      </section>
      <section>
        <h2>
          Agreed updates <span class="muted" data-testid="updates-total">{activity.data?.updatesTotal ?? "…"}</span> <span class="muted">since the node started</span>
        </h2>
        <Loading polled={activity}>
          {(a) => (
            <div class="charts">
              <Chart title="Update rate" unit="updates/s" t={a.t} values={a.updatesPerSecond} color="#2563eb" testId="chart-rate" />
              <Chart title="Latency (proposal → countersignature)" unit="ms" t={a.t} values={a.latencyMs} color="#d97706" testId="chart-latency" />
            </div>
          )}
        </Loading>
      </section>
      <section>
        <h2>Refusals</h2>
        <Loading polled={refusals}>
          {(r) =>
            r.refusals.length === 0 ? (
              <p class="muted" data-testid="refusals">none since the node started</p>
            ) : (
              <table data-testid="refusals">
                <thead>
                  <tr>
                    <th>reason</th>
                    <th class="num">count</th>
                    <th>kind</th>
                  </tr>
                </thead>
                <tbody>
                  {r.refusals.map((row) => (
                    <tr key={`${row.metric}/${row.reason}`}>
                      <td>{row.reason}</td>
                      <td class="num">{row.count}</td>
                      <td class="muted" title={`${row.metric}: ${row.help}`}>
                        {row.metric.replace(/^clearline_|_total$/g, "").replace(/_/g, " ")}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Loading>
      </section>
    </>
  );
}

export function ChannelsPage(_props: { venue: string | undefined }) {
  const channels = usePolled<Channels>("channels", 1_000);
  return (
    <Loading polled={channels}>
      {(c) => {
        const disputes = c.channels.filter((row) => row.dispute !== null && row.status === "disputed");
        return (
          <>
            <section>
              <h2>Disputes</h2>
              {disputes.length === 0 ? (
                <p class="muted" data-testid="disputes">no channel is disputed</p>
              ) : (
                <table data-testid="disputes">
                  <thead>
                    <tr>
                      <th>channel</th>
                      <th>investor</th>
                      <th>registered nonce</th>
                      <th>settles</th>
                    </tr>
                  </thead>
                  <tbody>
                    {disputes.map((row) => (
                      <tr key={row.channelId}>
                        <td class="mono">{short(row.channelId)}</td>
                        <td class="mono">{short(row.investor)}</td>
                        <td class="num">{row.dispute!.nonce}</td>
                        <td>
                          <DeadlineCell dispute={row.dispute!} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section>
              <h2>
                Channels <span class="muted">{c.total > c.channels.length ? `${c.channels.length} of ${c.total}` : c.total}</span>
              </h2>
              <table data-testid="channels">
                <thead>
                  <tr>
                    <th>channel</th>
                    <th>investor</th>
                    <th>status</th>
                    <th class="num">nonce</th>
                    <th class="num">venue holds</th>
                    <th class="num">investor holds</th>
                  </tr>
                </thead>
                <tbody>
                  {c.channels.map((row) => (
                    <tr key={row.channelId} data-channel={row.channelId}>
                      <td class="mono" title={row.channelId}>
                        {short(row.channelId)}
                      </td>
                      <td class="mono" title={row.investor}>
                        {short(row.investor)}
                      </td>
                      <td>
                        <span class={`status ${row.status}`}>{row.status}</span>
                      </td>
                      <td class="num" data-testid="nonce">
                        {row.nonce}
                      </td>
                      <td class="num">
                        {row.balances.map((b) => (
                          <div key={b.asset}>
                            {b.venue} {b.symbol}
                          </div>
                        ))}
                      </td>
                      <td class="num" data-testid="investor-balances">
                        {row.balances.map((b) => (
                          <div key={b.asset}>
                            {b.investor} {b.symbol}
                          </div>
                        ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          </>
        );
      }}
    </Loading>
  );
}

export function IssuerPage({ venue }: { venue: string | undefined }) {
  const issuer = usePolled<Issuer>("issuer", 10_000);
  return (
    <Loading polled={issuer}>
      {(i) => (
        <>
          {i.tables.map((table) => (
            <section key={table.token} data-testid="cap-table">
              <h2>
                Cap table of {table.symbol} <span class="muted">at block {table.block}; amounts in {table.symbol}</span>
              </h2>
              <table>
                <thead>
                  <tr>
                    <th>holder</th>
                    <th class="num">wallet</th>
                    <th class="num">in channels</th>
                    <th class="num">claimable</th>
                    <th class="num">held</th>
                    <th class="num">total</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {table.holders.map((h) => (
                    <tr key={h.address} class={h.frozen ? "frozen" : ""} data-holder={h.address}>
                      <td class="mono">
                        {h.address} {h.address === venue && <span class="status">venue</span>}
                      </td>
                      <td class="num">{h.wallet}</td>
                      <td class="num">{h.channels}</td>
                      <td class="num">{h.claimable}</td>
                      <td class="num">{h.held}</td>
                      <td class="num">{h.total}</td>
                      <td>{h.frozen && <span class="status disputed">FROZEN</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p class="muted">
                {table.holdersTotal > table.holders.length && `${table.holders.length} of ${table.holdersTotal} holders shown. `}
                Total supply {table.totalSupply} {table.symbol}; the adjudicator holds {table.custody.balance} ({table.custody.attributed} attributed above
                {table.custody.unattributed === "0" ? "" : `, ${table.custody.unattributed} unattributed`}). Read {new Date(i.readAt).toLocaleTimeString()}.
              </p>
            </section>
          ))}
        </>
      )}
    </Loading>
  );
}

function Side({ title, levels, cash, security }: { title: string; levels: Trading["markets"][number]["bids"]; cash: string; security: string }) {
  return (
    <table data-testid={`book-${title}`}>
      <thead>
        <tr>
          <th class="num">{title} price ({cash} per lot)</th>
          <th class="num">quantity ({security})</th>
          <th class="num">orders</th>
        </tr>
      </thead>
      <tbody>
        {levels.length === 0 ? (
          <tr>
            <td colSpan={3} class="muted">
              none
            </td>
          </tr>
        ) : (
          levels.map((l) => (
            <tr key={l.price}>
              <td class="num">{l.price}</td>
              <td class="num">{l.quantity}</td>
              <td class="num">{l.orders}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

export function TradingPage(_props: { venue: string | undefined }) {
  const trading = usePolled<Trading>("trading", 2_000);
  return (
    <Loading polled={trading}>
      {(t) =>
        !t.enabled ? (
          <p class="muted">This node takes no orders (no `trading` section in its configuration).</p>
        ) : (
          <>
            {t.markets.map((m) => (
              <section key={`${m.security}/${m.cash}`} data-testid="market">
                <h2>
                  {m.securitySymbol} / {m.cashSymbol} <span class="muted">lot {m.lot} {m.securitySymbol}</span>
                </h2>
                <div class="book">
                  <Side title="bid" levels={m.bids} cash={m.cashSymbol} security={m.securitySymbol} />
                  <Side title="ask" levels={m.asks} cash={m.cashSymbol} security={m.securitySymbol} />
                </div>
                <h3>
                  Recent fills <span class="muted">{m.fills.length === 0 ? "none yet" : `latest ${m.fills.length}, newest first`}</span>
                </h3>
                <table data-testid="fills">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>taker</th>
                      <th class="num">price ({m.cashSymbol} per lot)</th>
                      <th class="num">quantity ({m.securitySymbol})</th>
                      <th>maker</th>
                      <th>taker</th>
                      <th>time</th>
                      <th>state</th>
                    </tr>
                  </thead>
                  <tbody>
                    {m.fills.map((f) => (
                      <tr key={f.sequence}>
                        <td class="num">{f.sequence}</td>
                        <td>{f.takerSide}s</td>
                        <td class="num">{f.price}</td>
                        <td class="num">{f.quantity}</td>
                        <td class="mono">{f.maker === null ? "" : short(f.maker)}</td>
                        <td class="mono">{short(f.taker)}</td>
                        <td>{f.at.replace("T", " ").replace(/\.\d+Z$/, " UTC")}</td>
                        <td>
                          <span class={`status ${f.state}`}>{f.state}</span>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            ))}
          </>
        )
      }
    </Loading>
  );
}
