/**
 * Fault: Postgres is unreachable when a build ends. This file runs its own embedded Postgres
 * (dev/pglite-server.ts, handed to startStack as its DATABASE_URL, whatever the environment
 * says) so it can stop it: the step waits for a go file; the test stops Postgres, answers its
 * port with a listener that resets every connection (and counts them, so the coordinator's
 * retries can be seen), lets the build finish, waits for two failed writes, then starts Postgres
 * again on the same port with the same data directory. The build's final status must then reach
 * Postgres (read back through GET /v1/projects/:id/builds?status=succeeded) within a bounded time:
 * the BuildCoordinator keeps it in its outbox and retries from its alarm with backoff.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPgliteServer, type PgliteServer } from "../../dev/pglite-server.js";
import { E2E, oneStepYml, until } from "./support.js";

const e2e = new E2E();
let pgDir: string;
let pg: PgliteServer | null = null;
let marks: string;

const stepSh = (dir: string) => `echo "step started"
: > "${dir}/started"
i=0
while [ ! -e "${dir}/go" ]; do
  i=$((i + 1))
  if [ $i -gt 1200 ]; then echo "no go file after 120 s"; exit 1; fi
  sleep 0.1
done
echo "step done while Postgres is down"
`;

/** Stands in for the stopped server on its port: resets every connection, counts them. */
class ResettingPort {
  attempts = 0;
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {
    this.server = createServer((socket) => {
      this.attempts++;
      socket.on("error", () => undefined);
      socket.resetAndDestroy();
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

beforeAll(async () => {
  pgDir = mkdtempSync(join(tmpdir(), "sparki-e2e-pg-"));
  pg = await startPgliteServer({ dataDir: join(pgDir, "pgdata"), port: 0 });
  await e2e.start({ databaseUrl: pg.url });
  marks = join(e2e.work, "marks");
  mkdirSync(marks);
  await e2e.runner("pg-runner");
}, 180_000);

afterAll(async () => {
  await e2e.close();
  await pg?.close();
  if (pgDir) rmSync(pgDir, { recursive: true, force: true });
}, 60_000);

describe("Postgres unreachable when the build ends", () => {
  it("the final status lands in Postgres once it is back", async () => {
    expect(e2e.stack.databaseUrl).toBe(pg!.url);
    const port = pg!.port;
    const repo = await e2e.gitRepo("pg-down", {
      "package.json": JSON.stringify({ name: "pg-down", version: "1.0.0" }),
      "sparki.yml": oneStepYml("sh step.sh"),
      "step.sh": stepSh(marks),
    });
    const project = await e2e.project("pg-down", repo);
    const buildId = await e2e.trigger(project.id);
    const listed = async (status: string) => {
      const res = await e2e.api("GET", `/v1/projects/${project.id}/builds?status=${status}`);
      if (res.status !== 200) throw new Error(`the build list answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.items.find((b: any) => b.id === buildId);
    };

    await until("the step to start", () => existsSync(join(marks, "started")), 60_000, { diagnostics: () => e2e.diagnostics() });
    // Postgres knows the build is running before the outage.
    await until("Postgres to record the build running", () => listed("running"), 15_000);
    const viewer = e2e.viewer(buildId);
    await viewer.opened;

    // Postgres goes away; its port now resets every connection.
    await pg!.close();
    pg = null;
    const down = new ResettingPort(port);
    await down.listen();
    const refused = await e2e.api("GET", `/v1/projects/${project.id}/builds?status=succeeded`);
    expect(refused.status).toBe(503);

    writeFileSync(join(marks, "go"), "");
    // The build ends while Postgres is down: viewers hear it from the coordinator.
    await until("the coordinator to end the build", () => viewer.statuses.includes("succeeded") || viewer.statuses.find((s) => s !== "running"), 60_000, {
      diagnostics: () => `viewer: statuses ${JSON.stringify(viewer.statuses)}, closed ${JSON.stringify(viewer.closed)}\n${e2e.diagnostics()}`,
    });
    viewer.close();
    expect(viewer.statuses.at(-1)).toBe("succeeded");
    const endedAt = Date.now();
    expect(viewer.lines.map((l) => l.text)).toContain("step done while Postgres is down");
    const runner = e2e.runners[0]!;
    await until("the runner to report the job finished", () => /finished succeeded/.test(runner.output()), 10_000, { diagnostics: () => runner.output() });

    // The coordinator tries, fails, and tries again later (its outbox and alarm).
    const atEnd = down.attempts;
    await until("two write attempts by the coordinator while Postgres is down", () => down.attempts >= atEnd + 2, 30_000, {
      diagnostics: () => `${down.attempts} connection attempts`,
    });
    const failedWrites = down.attempts - atEnd;

    // Postgres comes back: same port, same data.
    await down.close();
    const restartedAt = Date.now();
    pg = await startPgliteServer({ dataDir: join(pgDir, "pgdata"), port });
    expect(pg.port).toBe(port);

    const row = await until("the final status to land in Postgres", () => listed("succeeded"), 90_000, { intervalMs: 250 });
    const landedAfterMs = Date.now() - restartedAt;
    expect(row).toMatchObject({ id: buildId, status: "succeeded", error: null });
    expect(row.commitSha).toMatch(/^[0-9a-f]{40}$/);
    expect(Date.parse(row.completedAt)).toBeLessThanOrEqual(endedAt);
    expect(Date.parse(row.startedAt)).toBeLessThan(Date.parse(row.completedAt));
    expect(await listed("running")).toBeUndefined();
    const build = await e2e.build(buildId);
    expect(build).toMatchObject({ status: "succeeded", completedAt: row.completedAt });
    console.log(
      `postgres-down: ${failedWrites} connection attempts while down after the build ended; the status landed ${(landedAfterMs / 1000).toFixed(1)} s after Postgres came back`,
    );
  }, 170_000);
});
