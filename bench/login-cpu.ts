/**
 * CPU per login check (the node's answer to an `auth`): the ethers pure-JS recovery the node used
 * before, against login-check.ts with the native and the noble verifier. Distinct keys and challenges,
 * CPU time from process.cpuUsage (user + system), after a warm-up. Figures go to docs/performance.md.
 *
 *   npx tsx bench/login-cpu.ts [--logins 2000]
 */
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { SigningKey, computeAddress, getAddress, hexlify, recoverAddress } from "ethers";
import { checkLogin } from "../channel-node/src/login-check.js";
import { loginDigest, type SessionChallenge } from "../client/protocol/session.js";
import { loadVerifier, nobleVerifier, type Verifier } from "../client/protocol/signing.js";

const { values } = parseArgs({ options: { logins: { type: "string", default: "2000" } } });
const count = Number(values.logins);

interface Login {
  readonly challenge: SessionChallenge;
  readonly address: string;
  readonly signature: string;
}

const deployment = { chainId: 31337n, adjudicator: getAddress(hexlify(randomBytes(20))) };
const venue = getAddress(hexlify(randomBytes(20)));
const logins: Login[] = Array.from({ length: count }, () => {
  const key = hexlify(randomBytes(32));
  const challenge: SessionChallenge = { venue, deployment, nonce: hexlify(randomBytes(32)) };
  return { challenge, address: computeAddress(key), signature: new SigningKey(key).sign(loginDigest(challenge)).serialized };
});

/** Microseconds of CPU per login, every login accepted. */
function cpuPerLogin(check: (login: Login) => void): number {
  for (const login of logins.slice(0, 200)) check(login);
  const start = process.cpuUsage();
  for (const login of logins) check(login);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / logins.length;
}

const viaVerifier = (verifier: Verifier) => (login: Login) => checkLogin(verifier, login.challenge, login.address, login.signature);
const results: [string, number][] = [
  [
    "ethers recoverAddress (before)",
    cpuPerLogin((login) => {
      if (recoverAddress(loginDigest(login.challenge), login.signature) !== login.address) throw new Error("refused");
    }),
  ],
  ["login-check, noble", cpuPerLogin(viaVerifier(nobleVerifier))],
  [`login-check, ${(await loadVerifier()).implementation}`, cpuPerLogin(viaVerifier(await loadVerifier()))],
];
for (const [name, micros] of results) console.log(`${name.padEnd(32)} ${(micros / 1000).toFixed(3)} ms CPU per login (${count} logins)`);
