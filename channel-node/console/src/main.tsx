// The Clearline web console: a venue's node seen in a browser, read-only (docs/operations.md, "Web console").
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { consoleToken, usePolled } from "./api.js";
import { ChannelsPage, IssuerPage, OverviewPage, TradingPage } from "./pages.js";
import type { Overview } from "./types.js";
import "./style.css";

const PAGES = { overview: OverviewPage, channels: ChannelsPage, issuer: IssuerPage, trading: TradingPage } as const;
type PageName = keyof typeof PAGES;

const pageOf = (hash: string): PageName => {
  const name = hash.replace(/^#\/?/, "");
  return name in PAGES ? (name as PageName) : "overview";
};

function TokenForm() {
  const [token, setToken] = useState("");
  return (
    <form
      class="token"
      onSubmit={(event) => {
        event.preventDefault();
        consoleToken.set(token);
        location.reload();
      }}
    >
      <p>This node's console requires its console token (the file console-token in the node's data directory).</p>
      <input type="password" placeholder="console token" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoComplete="off" />
      <button type="submit">Open</button>
    </form>
  );
}

function App() {
  const [page, setPage] = useState<PageName>(pageOf(location.hash));
  useEffect(() => {
    const follow = () => setPage(pageOf(location.hash));
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  const overview = usePolled<Overview>("overview", 2_000);
  if (overview.error?.status === 401) return <TokenForm />;
  const o = overview.data;
  const Page = PAGES[page];
  return (
    <>
      <header>
        <h1>Clearline console</h1>
        <div class="facts" data-testid="node-facts">
          {o === undefined ? (
            <span class={overview.error === undefined ? "muted" : "error"}>{overview.error?.message ?? "connecting…"}</span>
          ) : (
            <>
              <span title={o.venue}>venue {o.venue.slice(0, 10)}…</span>
              <span>chain {o.chainId}</span>
              <span data-testid="block">block {o.lastProcessedBlock ?? "—"}</span>
              <span>{o.chainTime === null ? <span class="error">chain view stale</span> : `chain time ${new Date(Number(o.chainTime) * 1000).toISOString().slice(11, 19)} UTC`}</span>
              <span class="muted">v{o.version}</span>
              {overview.error !== undefined && <span class="error">{overview.error.message}</span>}
            </>
          )}
        </div>
        <nav>
          {(Object.keys(PAGES) as PageName[]).map((name) => (
            <a key={name} href={`#/${name}`} class={name === page ? "active" : ""}>
              {name}
            </a>
          ))}
        </nav>
      </header>
      <main data-page={page}>
        <Page venue={o?.venue} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
