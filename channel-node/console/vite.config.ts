// Builds the web console (Preact + uPlot) into channel-node/console/dist/, which the node serves at
// /console/ (channel-node/src/console/static-files.ts). `npm run build` runs it.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  // Served below /console/ by the node.
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: fileURLToPath(new URL("./dist/", import.meta.url)), emptyOutDir: true, sourcemap: false },
  logLevel: "warn",
});
