/**
 * The wrangler config bench/logs runs: the root wrangler.toml (whatever it holds today), with
 * `main` set to bench/logs/worker.ts and bench/logs/wrangler.toml's bindings and migrations
 * appended. Written next to the run's other scratch files; returns its path.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "smol-toml";
import { projectRoot } from "../../dev/stack.js";

type Table = Record<string, unknown>;

/**
 * The relay's paths must reach the Worker, not the dashboard's index.html: `run_worker_first` is
 * either true (the Worker sees every request already) or a list of patterns, to which they are added.
 */
function withRelay(runWorkerFirst: unknown): true | string[] {
  if (runWorkerFirst === true) return true;
  const patterns = Array.isArray(runWorkerFirst) ? runWorkerFirst.filter((p): p is string => typeof p === "string") : [];
  return [...patterns, "/__relay/*"];
}

export function writeBenchConfig(dir: string): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const root = parse(readFileSync(join(projectRoot, "wrangler.toml"), "utf8")) as Table;
  const extra = parse(readFileSync(join(here, "wrangler.toml"), "utf8")) as Table;
  const rootObjects = (root.durable_objects as Table | undefined) ?? {};
  const extraObjects = (extra.durable_objects as Table | undefined) ?? {};
  const assets = root.assets as Table | undefined;
  const config: Table = {
    ...root,
    main: join(here, "worker.ts"),
    // Relative paths in the root config are the project root's, not this scratch file's.
    ...(assets && typeof assets.directory === "string"
      ? { assets: { ...assets, directory: join(projectRoot, assets.directory), run_worker_first: withRelay(assets.run_worker_first) } }
      : {}),
    // As are the alias targets (the Worker's zod without its locales).
    ...(root.alias && typeof root.alias === "object"
      ? {
          alias: Object.fromEntries(
            Object.entries(root.alias as Record<string, string>).map(([name, target]) => [name, target.startsWith(".") ? join(projectRoot, target) : target]),
          ),
        }
      : {}),
    durable_objects: {
      ...rootObjects,
      bindings: [...((rootObjects.bindings as Table[] | undefined) ?? []), ...((extraObjects.bindings as Table[] | undefined) ?? [])],
    },
    migrations: [...((root.migrations as Table[] | undefined) ?? []), ...((extra.migrations as Table[] | undefined) ?? [])],
  };
  const path = join(dir, "wrangler.bench-logs.toml");
  writeFileSync(path, stringify(config));
  return path;
}
