#!/usr/bin/env node
// `sparki-runner`, the same entry in the checkout and in the npm package. The package ships the
// bundle in dist/ (dev/bins.ts, at prepack) and no TypeScript; the checkout runs cli.ts through tsx,
// so an edit needs no build. `--version` alone answers from package.json without loading the runner.
import { existsSync, readFileSync } from "node:fs";
import module from "node:module";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")).version}\n`);
} else if (existsSync(new URL("./cli.ts", import.meta.url))) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("./cli.ts", import.meta.url).href);
} else {
  // Node 22.1+ keeps the bundle's compiled code between starts (in the OS temp dir); Node 20 has no cache.
  module.enableCompileCache?.();
  await import("./dist/sparki-runner.js");
}
