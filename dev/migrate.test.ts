import { describe, expect, it } from "vitest";
import { applyMigrations, dropDatabase, ensureDatabase } from "./migrate.ts";

// The race needs a real PostgreSQL (PGlite is one backend): the local-services pass has one.
const serverUrl = process.env.DATABASE_URL;

describe("migrations", () => {
  it.runIf(serverUrl)("run once when several stacks start together on one fresh database", async () => {
    const name = `migrate_race_${process.pid}`;
    const base = new URL(serverUrl ?? "");
    base.pathname = "/postgres";
    await ensureDatabase(base.toString(), name);
    try {
      const url = new URL(base);
      url.pathname = `/${name}`;
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => applyMigrations(url.toString())));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    } finally {
      await dropDatabase(base.toString(), name);
    }
  });
});
