// The web console in a real browser: Debian's Chromium (headless, driven by playwright-core) opens
// the console of a venue's node process on a Hardhat chain and shows its live data — a payment made
// during the test moves the update count, the rate chart and the channel's balances; a refused open
// appears by its code; the issuer's cap table counts channel holdings and marks a frozen holder; the
// book and a fill appear; a forced close appears as a dispute with its deadline. It also checks who
// may read (loopback names, the console token), that the page cannot use the admin API, and saves a
// screenshot of each page (under the test's temp dir, or CLEARLINE_CONSOLE_SCREENSHOTS to keep them).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isClientError, openClient, type OpenedClient, type TradingClient } from "../../client/sdk/index.js";
import { CONSOLE_TOKEN_FILE } from "../../channel-node/src/console/access.js";
import { CONSOLE_BUNDLE_DIR } from "../../channel-node/src/console/static-files.js";
import { readAdminToken } from "../../channel-node/src/admin-auth.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const CHROMIUM = "/usr/bin/chromium";
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) console.log(`test/console/console.test.ts skipped: ${CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)`);

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;

/** Builds the bundle when `npm run build` has not (a run of this file alone). */
async function ensureBundle(): Promise<void> {
  if (existsSync(join(CONSOLE_BUNDLE_DIR, "index.html"))) return;
  const { build } = await import("vite");
  await build({ configFile: fileURLToPath(new URL("../../channel-node/console/vite.config.ts", import.meta.url)) });
}

/** A GET with headers fetch would not let us set (Host). */
function rawGet(url: string, headers: Record<string, string>, method = "GET"): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function metric(node: NodeProcess, line: string): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.split(" ")[1]);
}

describe.skipIf(!HAS_CHROMIUM)("web console in Chromium against a live node", () => {
  let dir: string;
  let shots: string;
  let stack: Stack;
  let node: NodeProcess;
  let browser: BrowserContext;
  let page: Page;
  const clients: OpenedClient[] = [];
  const nodes: NodeProcess[] = [];
  let alice: { opened: OpenedClient; trading: TradingClient };
  let bob: { opened: OpenedClient; trading: TradingClient };
  let aliceChannel: string;
  let bobChannel: string;

  async function investor(target: NodeProcess, role: number): Promise<{ opened: OpenedClient; trading: TradingClient }> {
    const opened = await openClient({ nodeUrl: target.url, privateKey: devWallet(role).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "clients") });
    clients.push(opened);
    await opened.client.connect();
    return { opened, trading: opened.client.trading(stack.addresses.orderLogAnchor) };
  }

  async function startNode(name: string, extra: Record<string, unknown> = {}): Promise<NodeProcess> {
    const started = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, name), ...extra }), dir);
    nodes.push(started);
    return started;
  }

  const text = (testId: string) => page.getByTestId(testId).first().innerText();
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const open = async (hash: string) => {
    await page.goto(`${node.httpUrl}/console/#/${hash}`);
    await page.locator(`main[data-page="${hash}"]`).waitFor();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-console-"));
    shots = process.env.CLEARLINE_CONSOLE_SCREENSHOTS ?? join(dir, "screenshots");
    mkdirSync(shots, { recursive: true });
    await ensureBundle();
    stack = await startStack({
      investors: [{ index: ROLES.alice }, { index: ROLES.bob, securities: 0n }, { index: ROLES.carol, identity: { kyc: false }, securities: 0n }, { index: ROLES.dave }],
    });
    node = await startNode("node", {
      trading: { orderLogAnchor: stack.addresses.orderLogAnchor, markets: [{ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT.toString() }], anchorIntervalMs: 0, settlement: {} },
    });
    alice = await investor(node, ROLES.alice);
    bob = await investor(node, ROLES.bob);
    const assets = [stack.addresses.token, stack.addresses.cash];
    aliceChannel = await alice.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT } });
    await alice.opened.client.deposit(aliceChannel as never, CASH, price(100n));
    bobChannel = await bob.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: price(1_000n) } });
    await eventually(
      () => adminGet<{ channelId: string; status: string; balances: { investor: string }[] }[]>(node, "/channels"),
      (channels) => channels.length === 2 && channels.every((c) => c.status === "open") && channels.find((c) => c.channelId === aliceChannel)?.balances[CASH]?.investor === price(100n).toString(),
      20_000,
    );
    // The issuer freezes Dave, who holds 1000 CLS in his wallet.
    await (await stack.system.token.getFunction("freeze")(devWallet(ROLES.dave).address)).wait();
    browser = await chromium.launchPersistentContext(join(dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    for (const client of clients.splice(0)) await client.close();
    for (const started of nodes.splice(0)) await started.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("overview: value locked, and a payment made now moves the update count and the rate chart", async () => {
    await open("overview");
    await expect.poll(() => text("value-locked"), { timeout: 20_000 }).toContain("1100 cUSD");
    expect(await text("value-locked")).toContain("10 CLS");
    await expect.poll(() => text("node-facts"), { timeout: 20_000 }).toMatch(/block \d+/);
    const before = await eventually(async () => Number(await text("updates-total")), (n) => Number.isInteger(n), 20_000);
    for (let i = 0; i < 5; i++) await alice.opened.client.pay(aliceChannel as never, { assetIndex: CASH, amount: price(1n) });
    await expect.poll(async () => Number(await text("updates-total")), { timeout: 20_000 }).toBe(before + 5);
    // The chart is drawn by uPlot from the node's samples; the interval with the payments has a rate above 0.
    await expect.poll(async () => Number(await page.getByTestId("chart-rate").getAttribute("data-points")), { timeout: 20_000 }).toBeGreaterThan(1);
    expect(await page.getByTestId("chart-rate").locator("canvas").count()).toBe(1);
    const activity = (await (await fetch(`${node.httpUrl}/console/api/activity`)).json()) as { updatesPerSecond: number[] };
    expect(Math.max(...activity.updatesPerSecond)).toBeGreaterThan(0);
    // Value locked is unchanged by a payment to the venue: it moves within the channel.
    expect(await text("value-locked")).toContain("1100 cUSD");
    await shot("overview");
  });

  it("channels: the investor's balances change with a payment made while the page is open", async () => {
    await open("channels");
    const row = page.locator(`tr[data-channel="${aliceChannel}"]`);
    await expect.poll(() => row.getByTestId("investor-balances").innerText(), { timeout: 20_000 }).toContain("95 cUSD");
    const nonce = Number(await row.getByTestId("nonce").innerText());
    await alice.opened.client.pay(aliceChannel as never, { assetIndex: CASH, amount: price(20n) });
    await expect.poll(() => row.getByTestId("investor-balances").innerText(), { timeout: 20_000 }).toContain("75 cUSD");
    expect(Number(await row.getByTestId("nonce").innerText())).toBe(nonce + 1);
    expect(await row.innerText()).toContain("10 CLS");
    expect(await row.innerText()).toContain("open");
    await shot("channels");
  });

  it("refusals: an open refused by the eligibility rule appears by its code", async () => {
    const carol = await openClient({ nodeUrl: node.url, privateKey: devWallet(ROLES.carol).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "clients") });
    clients.push(carol);
    await carol.client.connect();
    const refused = await carol.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isClientError(refused)).toBe(true);
    await open("overview");
    await expect.poll(() => text("refusals"), { timeout: 20_000 }).toContain("NOT_ELIGIBLE");
  });

  it("issuer: the cap table counts what each holds inside channels and marks the frozen holder", async () => {
    await open("issuer");
    const aliceRow = page.locator(`tr[data-holder="${devWallet(ROLES.alice).address}"]`);
    await aliceRow.waitFor({ timeout: 20_000 });
    // Alice: 990 CLS in her wallet, 10 in her channel.
    expect(await aliceRow.innerText()).toMatch(/990\s+10\s+0\s+0\s+1000/);
    const daveRow = page.locator(`tr[data-holder="${devWallet(ROLES.dave).address}"]`);
    expect(await daveRow.innerText()).toContain("FROZEN");
    expect(await aliceRow.innerText()).not.toContain("FROZEN");
    expect(await page.locator(`tr[data-holder="${devWallet(ROLES.venue).address}"]`).innerText()).toContain("venue");
    await shot("issuer");
  });

  it("trading: the book's resting order and a fill appear, and the fill's settlement shows", async () => {
    // The venue's side of each channel carries the other leg of a settlement: cash in the seller's, the security in the buyer's.
    for (const [channel, asset, amount] of [[aliceChannel, CASH, price(500n)], [bobChannel, SECURITY, 5n * SECURITY_UNIT]] as const) {
      const deposited = await fetch(`${node.httpUrl}/admin/channels/${channel}/deposit?asset=${asset}&amount=${amount}`, { method: "POST", headers: { authorization: `Bearer ${node.adminToken}` } });
      expect(deposited.status).toBe(200);
    }
    const market = { security: stack.addresses.token as never, cash: stack.addresses.cash as never, lotSize: LOT };
    await alice.trading.placeOrder({ ...market, side: "sell", quantity: 5n * LOT, price: price(101n), timeInForce: "GTC" });
    await bob.trading.placeOrder({ ...market, side: "buy", quantity: 3n * LOT, price: price(102n), timeInForce: "GTC" });
    await open("trading");
    // 2 lots left at 101 cUSD per lot; one fill of 3 CLS at the maker's price.
    await expect.poll(() => text("book-ask"), { timeout: 20_000 }).toMatch(/101\s+2\s+1/);
    expect(await text("book-bid")).toContain("none");
    // With trading.settlement the fill settles in both channels: the page shows the state the investor's SDK is told.
    await expect.poll(() => text("fills"), { timeout: 30_000 }).toMatch(/buys\s+101\s+3\s.*settled/);
    expect((await bob.trading.myTrading()).fills.find((f) => f.sequence === "2")?.state).toBe("settled");
    await shot("trading");
    // Alice sold 3 CLS for 303 cUSD: her channel shows it.
    await open("channels");
    await expect.poll(() => page.locator(`tr[data-channel="${aliceChannel}"]`).getByTestId("investor-balances").innerText(), { timeout: 20_000 }).toMatch(/7 CLS\s+378 cUSD/);
  });

  it("disputes: a forced close appears with its deadline", async () => {
    const closed = await fetch(`${node.httpUrl}/admin/channels/${bobChannel}/close`, { method: "POST", headers: { authorization: `Bearer ${node.adminToken}` } });
    expect(closed.status).toBe(200);
    await open("channels");
    await expect.poll(() => text("disputes"), { timeout: 20_000 }).toContain(bobChannel.slice(0, 10));
    // A challenge period of one hour: the deadline is about an hour away.
    expect(await text("disputes")).toMatch(/UTC \(in (59 min|1 h)/);
    await shot("disputes");
  });

  it("refusals: a payment refused by a transfer rule appears by the rule's name", async () => {
    await (await stack.system.token.getFunction("freeze")(devWallet(ROLES.alice).address)).wait();
    // Until the node has applied the freeze, a payment of one smallest unit may still be agreed.
    const refused = await eventually(
      () => alice.opened.client.pay(aliceChannel as never, { assetIndex: SECURITY, amount: 1n }).then(() => undefined, (error: unknown) => error),
      (error) => error !== undefined,
      10_000,
    );
    expect(isClientError(refused, "REJECTED")).toBe(true);
    await open("overview");
    await expect.poll(() => text("refusals"), { timeout: 20_000 }).toMatch(/SENDER_FROZEN\s+1\s+compliance refusals/);
    await shot("refusals");
  });

  it("the page cannot use the admin API, even with the admin token (ADMIN_BROWSER_REFUSED)", async () => {
    await open("overview");
    const answer = await page.evaluate(async (token) => {
      const response = await fetch("/admin/channels", { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as { code: string } };
    }, node.adminToken);
    expect(answer).toEqual({ status: 403, body: expect.objectContaining({ code: "ADMIN_BROWSER_REFUSED" }) });
  });

  it("refuses another Host (DNS rebinding), writes and unknown data with typed errors, counted", async () => {
    const api = `${node.httpUrl}/console/api/channels`;
    const before = await metric(node, 'clearline_console_refusals_total{code="CONSOLE_BAD_HOST"}');
    expect(await rawGet(api, { host: "attacker.example" })).toMatchObject({ status: 403, body: { code: "CONSOLE_BAD_HOST" } });
    expect(await metric(node, 'clearline_console_refusals_total{code="CONSOLE_BAD_HOST"}')).toBe(before + 1);
    expect(await rawGet(api, {}, "POST")).toMatchObject({ status: 405, body: { code: "CONSOLE_METHOD_NOT_ALLOWED" } });
    expect(await rawGet(`${node.httpUrl}/console/api/constructor`, {})).toMatchObject({ status: 404, body: { code: "CONSOLE_NOT_FOUND" } });
    expect(await rawGet(`${node.httpUrl}/console/api/..%2F..%2Fadmin%2Fchannels`, {})).toMatchObject({ status: 404, body: { code: "CONSOLE_NOT_FOUND" } });
  });

  it("with console.requireToken: 401 until the console token (not the admin token) is sent; the page asks for it once", async () => {
    const guarded = await startNode("guarded", { console: { requireToken: true } });
    const token = readAdminToken(join(dir, "guarded", CONSOLE_TOKEN_FILE));
    expect(token).not.toBe(guarded.adminToken);
    const api = `${guarded.httpUrl}/console/api/overview`;
    expect(await rawGet(api, {})).toMatchObject({ status: 401, body: { code: "CONSOLE_UNAUTHORIZED" } });
    expect(await rawGet(api, { authorization: `Bearer ${guarded.adminToken}` })).toMatchObject({ status: 401, body: { code: "CONSOLE_UNAUTHORIZED" } });
    // With the token, any Host: the operator may put the node behind a name.
    expect(await rawGet(api, { authorization: `Bearer ${token}`, host: "venue.example" })).toMatchObject({ status: 200, body: { venue: devWallet(ROLES.venue).address } });
    await page.goto(`${guarded.httpUrl}/console/`);
    await page.locator("form.token input").fill(token);
    await page.locator("form.token button").click();
    await expect.poll(() => text("node-facts"), { timeout: 20_000 }).toContain(`chain ${stack.chainId}`);
    expect(readFileSync(join(dir, "guarded", CONSOLE_TOKEN_FILE), "utf8").trim()).toBe(token);
  });

  it("with console.enabled false the node serves no console", async () => {
    const off = await startNode("off", { console: { enabled: false } });
    expect((await fetch(`${off.httpUrl}/console/`)).status).toBe(404);
    expect((await fetch(`${off.httpUrl}/console/api/overview`)).status).toBe(404);
  });
});
