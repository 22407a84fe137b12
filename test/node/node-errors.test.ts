// The node's typed errors are CodedErrors: each keeps its name and the message it always had (the
// node prints it, or the admin API answers it, as is), and answers its own guard only.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { CodedError } from "../../client/protocol/coded-error.js";
import { ProtocolError } from "../../client/protocol/errors.js";
import { OperatorActionError, isOperatorActionError } from "../../channel-node/src/admin-actions.js";
import { AdminTokenError, isAdminTokenError, readAdminToken } from "../../channel-node/src/admin-auth.js";
import { AssetCheckError, isAssetCheckError } from "../../channel-node/src/asset-check.js";
import { ConfigError, isConfigError, loadNodeConfig } from "../../channel-node/src/config.js";
import { KeystoreError, isKeystoreError, keystorePrivateKey } from "../../channel-node/src/keystore.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { AdminError, isAdminError } from "../../channel-node/src/operator-format.js";
import { StandbyServer } from "../../channel-node/src/standby.js";
import { PortInUseError, isPortInUseError } from "../../channel-node/src/transport.js";
import { DepositNotCountedError, isDepositNotCountedError, venueDepositCounted } from "../../channel-node/src/venue-deposit.js";

const caught = async (run: () => unknown): Promise<unknown> => {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
};

describe("the node's typed errors", () => {
  let dir: string;
  let taken: Server;
  let takenPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-node-errors-"));
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("keep the messages their producers always gave, without a code suffix", async () => {
    const absent = join(dir, "absent");
    const exposed = join(dir, "exposed-token");
    writeFileSync(exposed, `${"ab".repeat(32)}\n`);
    chmodSync(exposed, 0o644);
    const metrics = createMetrics();
    const standby = { host: "127.0.0.1", port: takenPort, venue: "0x0000000000000000000000000000000000000001" as const, timeoutMs: 500, maxConnections: 2, metrics, logger: pino({ level: "silent" }) };
    const cases: [unknown, string, string, string][] = [
      [await caught(() => loadNodeConfig(undefined, {})), "ConfigError", "INVALID_CONFIG", "invalid node configuration: "],
      [await caught(() => keystorePrivateKey({ file: absent })), "KeystoreError", "KEYSTORE_PASSWORD_MISSING", "the keystore needs a password: set CLEARLINE_NODE_KEYSTORE_PASSWORD or a password file (keystore.passwordFile, CLEARLINE_NODE_KEYSTORE_PASSWORD_FILE)"],
      [await caught(() => readAdminToken(absent)), "AdminTokenError", "ADMIN_TOKEN_MISSING", `no admin token at ${absent} (the node writes it at its first start)`],
      [await caught(() => readAdminToken(exposed)), "AdminTokenError", "ADMIN_TOKEN_EXPOSED", `${exposed} is readable by other users (mode 644); run chmod 600 ${exposed}`],
      [await caught(() => StandbyServer.start(standby)), "PortInUseError", "PORT_IN_USE", `port ${takenPort} on 127.0.0.1 is already in use`],
      [await caught(() => venueDepositCounted(() => undefined, 0, 1n, { timeoutMs: 1_000, pollMs: 10 })), "DepositNotCountedError", "DEPOSIT_NOT_COUNTED", "the deposit was mined but the channel is unknown to the node; it is not counted"],
    ];
    for (const [error, name, code, message] of cases) {
      expect(error).toBeInstanceOf(CodedError);
      expect(error).toMatchObject({ name, code, shortMessage: (error as Error).message });
      if (code === "INVALID_CONFIG") expect((error as Error).message.startsWith(message)).toBe(true);
      else expect((error as Error).message).toBe(message);
      expect((error as Error).message).not.toContain("code=");
    }
    expect((cases[4]![0] as PortInUseError).details).toEqual({ host: "127.0.0.1", port: takenPort });
  });

  it("as do the operator's refusals, and the asset check keeps the code in its message", () => {
    const action = new OperatorActionError("INVESTOR_OFFLINE", "the investor 0xab is offline", 409, { investor: "0xab" });
    expect([action.name, action.code, action.message, action.status, action.details]).toEqual(["OperatorActionError", "INVESTOR_OFFLINE", "the investor 0xab is offline", 409, { investor: "0xab" }]);
    const admin = new AdminError("ADMIN_NOT_FOUND", "the node refused the request: no such endpoint");
    expect([admin.name, admin.code, admin.message]).toEqual(["AdminError", "ADMIN_NOT_FOUND", "the node refused the request: no such endpoint"]);
    const asset = new AssetCheckError("RESTRICTED_TOKEN_NOT_MIRRORED", "0x01", "channel asset 0x01 is a restricted token", ["ERC-1404 x"]);
    expect([asset.message, asset.shortMessage]).toEqual(["channel asset 0x01 is a restricted token (code=RESTRICTED_TOKEN_NOT_MIRRORED)", "channel asset 0x01 is a restricted token"]);
    expect([asset.token, asset.views, asset.details]).toEqual(["0x01", ["ERC-1404 x"], { token: "0x01", views: ["ERC-1404 x"] }]);
    expect(new AssetCheckError("ASSET_NOT_A_CONTRACT", "0x02", "not a contract").views).toEqual([]);
  });

  it("answer their own guards only, and only for the code asked", () => {
    const config = new ConfigError("bad");
    const keystore = new KeystoreError("KEYSTORE_INVALID", "bad");
    const token = new AdminTokenError("ADMIN_TOKEN_INVALID", "bad");
    const port = new PortInUseError("127.0.0.1", 1);
    const deposit = new DepositNotCountedError("bad");
    const action = new OperatorActionError("FUNDS_RESERVED", "bad", 409);
    const admin = new AdminError("FUNDS_RESERVED", "bad");
    const asset = new AssetCheckError("ASSET_NOT_A_CONTRACT", "0x01", "bad");
    const all = [config, keystore, token, port, deposit, action, admin, asset, new ProtocolError("MALFORMED", "bad"), new Error("bad"), { code: "INVALID_CONFIG" }];
    const guards: [(error: unknown) => boolean, unknown][] = [
      [isConfigError, config],
      [isKeystoreError, keystore],
      [isAdminTokenError, token],
      [isPortInUseError, port],
      [isDepositNotCountedError, deposit],
      [isOperatorActionError, action],
      [isAdminError, admin],
      [isAssetCheckError, asset],
    ];
    for (const [guard, own] of guards) expect(all.filter((error) => guard(error))).toEqual([own]);
    expect([isKeystoreError(keystore, "KEYSTORE_INVALID"), isKeystoreError(keystore, "KEYSTORE_UNREADABLE")]).toEqual([true, false]);
    expect([isAdminTokenError(token, "ADMIN_TOKEN_INVALID"), isAdminTokenError(token, "ADMIN_TOKEN_MISSING")]).toEqual([true, false]);
    expect([isOperatorActionError(action, "FUNDS_RESERVED"), isOperatorActionError(action, "INVESTOR_OFFLINE")]).toEqual([true, false]);
    expect([isAdminError(admin, "FUNDS_RESERVED"), isAdminError(admin, "NODE_UNREACHABLE")]).toEqual([true, false]);
    expect([isAssetCheckError(asset, "ASSET_NOT_A_CONTRACT"), isAssetCheckError(asset, "RESTRICTED_TOKEN_NOT_MIRRORED")]).toEqual([true, false]);
  });
});
