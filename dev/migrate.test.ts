import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { describe, expect, it } from "vitest";
import { applyMigrations, dropDatabase, ensureDatabase, migrationsFolder } from "./migrate.ts";

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

describe("0021_deployment_event_actor", () => {
  it("keeps the person an older deployment event named by email as their user id, and drops the email", async () => {
    // The migrations up to 0020, then the rows an older orchestrator synced, then 0021.
    const before = mkdtempSync(join(tmpdir(), "sparki-migrations-"));
    cpSync(migrationsFolder, before, { recursive: true });
    const journalPath = join(before, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
    journal.entries = journal.entries.filter((e) => e.tag < "0021");
    writeFileSync(journalPath, JSON.stringify(journal));
    const pg = new PGlite();
    try {
      await migrate(drizzle(pg), { migrationsFolder: before });
      const alive = "alice@example.test";
      const gone = "bob@example.test";
      const { rows } = await pg.query<{ id: string }>(`insert into users (email, password_hash, name) values ($1, 'x', 'alice') returning id`, [alive]);
      const aliceId = rows[0]?.id;
      await pg.exec(`
        insert into workspaces (id, name, slug, owner_id) values ('00000000-0000-4000-8000-000000000001', 'w', 'w', null);
        insert into projects (id, workspace_id, name, git_url) values ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'p', 'https://example.test/p.git');
        insert into builds (id, project_id, number, status, trigger) values ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', 1, 'succeeded', 'api');
        insert into releases (id, project_id, build_id, status, reason, trigger)
          values ('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003', 'rolled_back', 'rolled back by hand (${alive})', 'manual');
      `);
      const events = [
        ["approved", `approved by ${alive}`],
        ["approved", `approved by ${gone}`],
        ["cancel_requested", "cancelled by the close of pull request #3"],
        ["rollback_requested", `rollback requested by ${alive}`],
        ["rolled_back", `rolled back by hand (${alive})`],
        ["failed", `deploy failed: approved by ${alive}`],
      ];
      for (const [seq, [type, message]] of events.entries()) {
        await pg.query(
          `insert into deployment_events (release_id, seq, at, type, message) values ('00000000-0000-4000-8000-000000000004', $1, now(), $2, $3)`,
          [seq + 1, type, message],
        );
      }

      await migrate(drizzle(pg), { migrationsFolder });

      const after = await pg.query<{ type: string; message: string; actor_id: string | null }>(
        "select type, message, actor_id from deployment_events order by seq",
      );
      expect(after.rows.map((r) => [r.type, r.message, r.actor_id])).toEqual([
        ["approved", "approved", aliceId],
        ["approved", "approved", null],
        ["cancel_requested", "cancelled by the close of pull request #3", null],
        ["rollback_requested", "rollback requested", aliceId],
        ["rolled_back", "rolled back by hand", null],
        // Not a request event: its text is a platform's, left as it is.
        ["failed", `deploy failed: approved by ${alive}`, null],
      ]);
      expect((await pg.query<{ reason: string }>("select reason from releases")).rows).toEqual([{ reason: "rolled back by hand" }]);
      // The person is now a foreign key: deleting the account unlinks the events.
      await pg.query("delete from users where id = $1", [aliceId]);
      expect((await pg.query("select 1 from deployment_events where actor_id is not null")).rows).toEqual([]);
    } finally {
      await pg.close();
      rmSync(before, { recursive: true, force: true });
    }
  });
});
