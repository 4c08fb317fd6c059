/**
 * Applies the drizzle-kit migrations in migrations/ to DATABASE_URL (or to the URL given).
 * Used by `npm run db:migrate`, by `npm run dev` and by the test setup.
 */
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

export const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

/** Runs `work` on one connection to `url`, closed afterwards whatever happens. */
async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Database names go into SQL as identifiers (they cannot be parameters), so only plain ones pass. */
function safeName(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name ${name}`);
  return name;
}

/** Any constant: the advisory lock that lets one migration run at a time on a database server. */
const migrationLock = 7_317_470_001;

export async function applyMigrations(url: string): Promise<void> {
  // Stacks starting together on one database (the tests on the machine's PostgreSQL) would both
  // create the same tables; the second waits, then finds every migration applied.
  await withClient(url, async (client) => {
    await client.query("select pg_advisory_lock($1)", [migrationLock]);
    try {
      await migrate(drizzle(client), { migrationsFolder });
    } finally {
      await client.query("select pg_advisory_unlock($1)", [migrationLock]);
    }
  });
}

/** Creates a database on the server of `serverUrl` if it does not exist yet. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const db = safeName(name);
  await withClient(serverUrl, async (client) => {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [db]);
    if (!rowCount) await client.query(`create database ${db}`);
  });
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const db = safeName(name);
  await withClient(serverUrl, (client) => client.query(`drop database if exists ${db} with (force)`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2] ?? process.env.DATABASE_URL;
  if (!url) {
    console.error("db:migrate: set DATABASE_URL or pass a postgres:// URL");
    process.exit(2);
  }
  applyMigrations(url).then(
    () => console.log("migrations applied"),
    (err: unknown) => {
      console.error(`db:migrate: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
