/**
 * The coordinator's SQLite tables and typed access to them. Everything the build needs to carry
 * on after a restart lives here; nothing is kept only in memory.
 */
import type { BuildState, JobState } from "../../core/build/index.ts";
import type { StepReport } from "../../core/contracts/runner.ts";
import type { Pipeline } from "../../core/pipeline/index.ts";
import type { BuildInit, JobSpec } from "../../server/objects/build-coordinator/protocol.js";

export interface Meta {
  init: BuildInit;
  state: BuildState;
  commitSha: string | null;
  pipeline: Pipeline | null;
  /** Jobs the branch filters leave out: they end cancelled and do not count against the build. */
  skipped: string[];
  /** Why the build did not succeed, in one line for the UI. */
  error?: string | null;
}

export interface JobRow {
  spec: JobSpec;
  state: JobState;
  steps: StepReport[];
}

export function createSchema(sql: SqlStorage): void {
  sql.exec(`create table if not exists meta (id integer primary key check (id = 1), value text not null)`);
  sql.exec(`create table if not exists jobs (id text primary key, ord integer not null, spec text not null, state text not null, steps text not null)`);
  // A job's lines are numbered per attempt (its fencing token): a requeued job starts at 1 again.
  sql.exec(`create table if not exists log_lines (
    seq integer primary key autoincrement,
    job_id text not null, fencing integer not null, job_seq integer not null,
    step text not null, ts integer not null, text text not null, partial integer not null,
    unique (job_id, fencing, job_seq))`);
  sql.exec(
    `create table if not exists outbox (id integer primary key autoincrement, kind text not null, key text not null, payload text not null, attempts integer not null default 0)`,
  );
  sql.exec(`create table if not exists timers (name text primary key, due_at integer not null)`);
  sql.exec(`create table if not exists masks (value text primary key)`);
  // The log's size against its cap, in a row of its own: it changes with every runner frame,
  // and rewriting the build's whole meta (init, pipeline) per frame was most of a frame's cost.
  sql.exec(`create table if not exists log_budget (id integer primary key check (id = 1), bytes integer not null, truncated integer not null)`);
  // Runs on every wake-up: the log is summed only by an object whose storage predates the table.
  const [budget] = sql.exec("select 1 from log_budget").toArray();
  if (!budget) sql.exec(`insert into log_budget (id, bytes, truncated) select 1, coalesce(sum(length(text) + 1), 0), 0 from log_lines`);
}

type JobColumns = { spec: string; state: string; steps: string };
const jobRow = (r: JobColumns): JobRow => ({
  spec: JSON.parse(r.spec) as JobSpec,
  state: JSON.parse(r.state) as JobState,
  steps: JSON.parse(r.steps) as StepReport[],
});

/** How much of the log's cap is used, and whether the log was cut there. */
export interface LogBudget {
  bytes: number;
  truncated: boolean;
}

export class Store {
  constructor(private readonly sql: SqlStorage) {}

  meta(): Meta | undefined {
    const [row] = this.sql.exec<{ value: string }>("select value from meta where id = 1").toArray();
    return row ? (JSON.parse(row.value) as Meta) : undefined;
  }

  saveMeta(meta: Meta): void {
    this.sql.exec("insert into meta (id, value) values (1, ?) on conflict (id) do update set value = excluded.value", JSON.stringify(meta));
  }

  jobs(): JobRow[] {
    return this.sql.exec<JobColumns>("select spec, state, steps from jobs order by ord").toArray().map(jobRow);
  }

  /** One job's state (the lease a runner must hold), without reading every job. */
  jobState(id: string): JobState | undefined {
    const [row] = this.sql.exec<{ state: string }>("select state from jobs where id = ?", id).toArray();
    return row ? (JSON.parse(row.state) as JobState) : undefined;
  }

  logBudget(): LogBudget {
    const [row] = this.sql.exec<{ bytes: number; truncated: number }>("select bytes, truncated from log_budget where id = 1").toArray();
    return { bytes: row?.bytes ?? 0, truncated: row?.truncated === 1 };
  }

  saveLogBudget(budget: LogBudget): void {
    this.sql.exec("update log_budget set bytes = ?, truncated = ? where id = 1", budget.bytes, budget.truncated ? 1 : 0);
  }

  job(id: string): JobRow | undefined {
    const [row] = this.sql.exec<JobColumns>("select spec, state, steps from jobs where id = ?", id).toArray();
    return row ? jobRow(row) : undefined;
  }

  saveJob(job: JobRow, ord?: number): void {
    this.sql.exec(
      `insert into jobs (id, ord, spec, state, steps) values (?, ?, ?, ?, ?)
       on conflict (id) do update set spec = excluded.spec, state = excluded.state, steps = excluded.steps`,
      job.spec.id,
      ord ?? 0,
      JSON.stringify(job.spec),
      JSON.stringify(job.state),
      JSON.stringify(job.steps),
    );
  }

  /** Queues a write for Postgres; a later write with the same key replaces an unsent one. */
  enqueue(kind: "build" | "job" | "event", key: string, payload: unknown): void {
    this.sql.exec("delete from outbox where kind = ? and key = ? and kind <> 'event'", kind, key);
    this.sql.exec("insert into outbox (kind, key, payload) values (?, ?, ?)", kind, key, JSON.stringify(payload));
  }

  outbox(): { id: number; kind: string; payload: string; attempts: number }[] {
    return this.sql
      .exec<{ id: number; kind: string; payload: string; attempts: number }>("select id, kind, payload, attempts from outbox order by id")
      .toArray();
  }

  sent(id: number): void {
    this.sql.exec("delete from outbox where id = ?", id);
  }

  failedAttempt(): void {
    this.sql.exec("update outbox set attempts = attempts + 1");
  }

  setTimer(name: string, dueAt: number): void {
    this.sql.exec("insert into timers (name, due_at) values (?, ?) on conflict (name) do update set due_at = excluded.due_at", name, dueAt);
  }

  clearTimer(name: string): void {
    this.sql.exec("delete from timers where name = ?", name);
  }

  dueTimers(now: number): string[] {
    return this.sql
      .exec<{ name: string }>("select name from timers where due_at <= ?", now)
      .toArray()
      .map((r) => r.name);
  }

  nextTimer(): number | undefined {
    const [row] = this.sql.exec<{ due: number | null }>("select min(due_at) as due from timers").toArray();
    return row?.due ?? undefined;
  }
}
