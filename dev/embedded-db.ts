/**
 * The embedded Postgres of `npm run dev` and of the test stacks: PGlite served on TCP, migrated.
 * A new database starts from a dump of one already migrated to exactly these migrations (named by
 * a hash of migrations/, kept beside the initdb dump: pglite-template.ts), so a test stack skips
 * the 2 s of migrations in WebAssembly as well as initdb; the migrations then find nothing to do.
 * The first new database after a migration changes runs them and leaves the next dump.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { applyMigrations, migrationsFolder } from "./migrate.js";
import { initdbTemplate } from "./pglite-template.js";
import { type OpeningPgliteServer, openPgliteServer, type PgliteServer, type PgliteServerOptions, whenReady } from "./pglite-server.js";

/** A hash of every file under migrations/ (names and bytes), so any change makes a new template. */
function migrationsHash(): string {
  const hash = createHash("sha256");
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else hash.update(`${prefix}${name}\0`).update(readFileSync(path)).update("\0");
    }
  };
  walk(migrationsFolder, "");
  return hash.digest("hex").slice(0, 16);
}

/** Starts PGlite on TCP with the migrations applied. */
export async function startMigratedPglite(opts: PgliteServerOptions = {}): Promise<PgliteServer> {
  return whenReady(await openMigratedPglite(opts));
}

/**
 * Listens at once; `ready` settles when PGlite is loaded and migrated, so a stack can start its
 * Worker meanwhile. The caller must await or handle `ready`.
 */
export async function openMigratedPglite(opts: PgliteServerOptions = {}): Promise<OpeningPgliteServer> {
  const name = `migrated-${migrationsHash()}`;
  const fresh = !opts.dataDir || !existsSync(join(opts.dataDir, "PG_VERSION"));
  const template = fresh ? initdbTemplate(name) : undefined;
  const server = await openPgliteServer({ ...opts, ...(template ? { template } : {}) });
  const ready = server.ready.then(async () => {
    await applyMigrations(server.url);
    if (fresh && !template) await server.saveTemplate(name);
  });
  return { ...server, ready };
}
