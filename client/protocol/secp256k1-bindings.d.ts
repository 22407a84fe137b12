// The npm `secp256k1` package's native entry point. Its main entry silently falls back to the slow
// pure-JS `elliptic`; importing the bindings directly lets signing.ts fall back to noble instead.
// A CommonJS module: `import()` exposes its exports as `default`.
declare module "secp256k1/bindings.js" {
  import * as secp256k1 from "secp256k1";
  export default secp256k1;
}
