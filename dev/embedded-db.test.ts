import { readdirSync } from "node:fs";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startMigratedPglite } from "./embedded-db.ts";
import { migrationsFolder } from "./migrate.ts";

async function appliedMigrations(url: string): Promise<{ migrations: number; tables: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const migrations = Number((await client.query("select count(*)::int as n from drizzle.__drizzle_migrations")).rows[0].n);
    const tables = (await client.query("select tablename from pg_tables where schemaname = 'public' order by 1")).rows.map((r) => r.tablename as string);
    return { migrations, tables };
  } finally {
    await client.end();
  }
}

describe("the embedded database", () => {
  it("starts migrated, the same whether the migrations ran or the migrated dump was loaded", async () => {
    const expected = readdirSync(migrationsFolder).filter((f) => f.endsWith(".sql")).length;
    // The first start may run the migrations and leave the dump; the second loads it.
    const first = await startMigratedPglite();
    const one = await appliedMigrations(first.url).finally(() => first.close());
    const second = await startMigratedPglite();
    const two = await appliedMigrations(second.url).finally(() => second.close());
    expect(one.migrations).toBe(expected);
    expect(one.tables).toContain("builds");
    expect(two).toEqual(one);
  });
});
