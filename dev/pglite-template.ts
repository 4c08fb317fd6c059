/**
 * A new PGlite database starts with initdb, which in WebAssembly costs 5–15 s of CPU here; loading
 * a dump of a freshly initialised one (PGlite's dumpDataDir/loadDataDir) costs 1–4 s. The first new
 * database of each PGlite version is dumped to node_modules/.cache/sparki/, and every later new
 * database (a first `npm run dev`, each test stack) starts from that dump. The dump holds nothing
 * but an empty cluster, so it can serve any database; a missing or unwritable cache only means
 * initdb runs as before. A database that the migrations then bring up to date is kept too, under a
 * name that hashes migrations/ (dev/embedded-db.ts), so later stacks skip the migrations as well.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";

/** PGlite's own version: a dump is only loaded by the version that made it. */
function pgliteVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.resolve("@electric-sql/pglite")));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
}

const templateFile = (name: string) =>
  join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".cache", "sparki", `pglite-${pgliteVersion()}-${name}.tar`);

/** The dump of a fresh cluster (or the template `name`), if one was made before. */
export function initdbTemplate(name = "initdb"): Blob | undefined {
  try {
    const file = templateFile(name);
    return existsSync(file) ? new Blob([readFileSync(file)]) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps a dump of `db`, a cluster initdb has just made and nobody has used (or template `name`), for the next new database. */
export async function saveInitdbTemplate(db: PGlite, name = "initdb"): Promise<void> {
  try {
    const file = templateFile(name);
    mkdirSync(dirname(file), { recursive: true });
    const dump = await db.dumpDataDir("none");
    // Written aside and renamed, so a database starting at the same moment never reads half a file.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, file);
  } catch {
    // Only a speed-up: without it the next new database runs initdb.
  }
}
