/**
 * A build's log in the coordinator's SQLite: lines stored as they arrive (masked, up to the log's
 * cap), read back in chunks for viewers, and written out as text (logs.txt, and to R2 when the
 * build ends), never whole in memory.
 */
import type { RunnerLogFrame } from "../../core/contracts/runner.ts";
import type { ViewerLogLine } from "../../core/contracts/logs.ts";
import { createMasker, maskText, type Masker } from "../../core/log/mask.ts";
import type { LogBudget, Meta, Store } from "./store.js";
import { buildLogKey } from "../../server/r2-keys.js";

/** Lines per read when writing the log out as text (each at most RunnerLimits.lineBytes). */
const archiveChunk = 1000;

const sizeText = (bytes: number) => (bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB` : `${Math.round(bytes)} bytes`);

/** Consecutive lines stored by one statement. */
type LogRun = { seq: number; step: string; ts: number; partial: 0 | 1; texts: string[] };

export class LogLines {
  #masks: Masker | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly store: Store,
    /** A build's log stops growing here, with a line saying so. */
    private readonly capBytes: number,
  ) {}

  /** Drops the in-memory copy of the secret values; the next line reloads them. */
  forgetMasks(): void {
    this.#masks = undefined;
  }

  /**
   * The runner masks before a line leaves it; this is the second line of defence, with the same
   * masker (every encoded form of each secret) as the runner's.
   */
  #mask(text: string): string {
    this.#masks ??= createMasker(
      this.sql
        .exec<{ value: string }>("select value from masks")
        .toArray()
        .map((r) => r.value),
    );
    return maskText(this.#masks, text);
  }

  /** Stores a frame's new lines, up to the log's cap and a line saying where it was cut. */
  append(jobId: string, fencing: number, lines: RunnerLogFrame["lines"], budget: LogBudget): void {
    if (lines.length === 0) return;
    // Consecutive lines of one step, chunk and kind go in with one statement: a burst's frame
    // is one or two such runs, and SQLite reads each text straight from the JSON array (a
    // statement per line, or several JSON lookups per line, was most of a frame's cost).
    const runs: LogRun[] = [];
    const add = (seq: number, step: string, ts: number, text: string, partial: 0 | 1) => {
      const last = runs.at(-1);
      if (last && last.step === step && last.ts === ts && last.partial === partial && last.seq + last.texts.length === seq) last.texts.push(text);
      else runs.push({ seq, step, ts, partial, texts: [text] });
    };
    for (const line of lines) {
      const bytes = line.text.length + 1;
      if (budget.bytes + bytes > this.capBytes) {
        budget.truncated = true;
        add(line.seq, "sparki:runner", line.ts, `[sparki] The log reached its ${sizeText(this.capBytes)} limit here; later lines were not kept.`, 0);
        break;
      }
      budget.bytes += bytes;
      add(line.seq, line.step, line.ts, this.#mask(line.text), line.partial ? 1 : 0);
    }
    for (const run of runs) {
      this.sql.exec(
        `insert into log_lines (job_id, fencing, job_seq, step, ts, text, partial)
         select ?, ?, ? + key, ?, ?, value, ? from json_each(?) where true
         on conflict (job_id, fencing, job_seq) do nothing`,
        jobId,
        fencing,
        run.seq,
        run.step,
        run.ts,
        run.partial,
        JSON.stringify(run.texts),
      );
    }
    this.store.saveLogBudget(budget);
  }

  /** The last line a job's attempt (its fencing token) stored. */
  lastSeq(jobId: string, fencing: number): number {
    const [row] = this.sql.exec<{ seq: number | null }>("select max(job_seq) as seq from log_lines where job_id = ? and fencing = ?", jobId, fencing).toArray();
    return row?.seq ?? 0;
  }

  /** Up to `limit` lines of the build from `from` (the build-wide seq). */
  read(from: number, limit: number): ViewerLogLine[] {
    return this.sql
      .exec<{ seq: number; job_id: string; step: string; ts: number; text: string; partial: number }>(
        "select seq, job_id, step, ts, text, partial from log_lines where seq >= ? order by seq limit ?",
        from,
        limit,
      )
      .toArray()
      .map((r) => ({ seq: r.seq, jobId: r.job_id, step: r.step, ts: r.ts, text: r.text, ...(r.partial ? { partial: true as const } : {}) }));
  }

  /** Deletes every stored line (retention); returns how many there were. */
  forget(): number {
    const [row] = this.sql.exec<{ n: number }>("select count(*) as n from log_lines").toArray();
    this.sql.exec("delete from log_lines");
    return row?.n ?? 0;
  }

  /** Writes the whole log to R2 (streamed, never whole in memory); returns its key. */
  async archive(bucket: R2Bucket, meta: Meta): Promise<void> {
    const key = buildLogKey(meta.init.projectId, meta.init.buildId);
    const [row] = this.sql
      .exec<{ bytes: number | null }>("select sum(length(cast(text as blob)) + case when partial = 1 then 0 else 1 end) as bytes from log_lines")
      .toArray();
    const length = row?.bytes ?? 0;
    const stream = new FixedLengthStream(length);
    const writing = this.#pump(stream.writable, null);
    await Promise.all([bucket.put(key, stream.readable, { httpMetadata: { contentType: "text/plain; charset=utf-8" } }), writing]);
  }

  /** The log (or one job's lines) as text: each line's text, plus a newline unless it was partial. */
  text(jobId: string | null): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    void this.#pump(writable, jobId);
    return new Response(readable, { headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  async #pump(writable: WritableStream<Uint8Array>, jobId: string | null): Promise<void> {
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    let next = 1;
    try {
      for (;;) {
        // SQLite joins each chunk of lines into one string: a row object per line was most of
        // the cost of archiving a long log.
        const [chunk] = this.sql
          .exec<{ body: string | null; last: number | null }>(
            `select group_concat(text || case when partial = 1 then '' else char(10) end, '' order by seq) as body, max(seq) as last
             from (select seq, text, partial from log_lines where seq >= ? ${jobId ? "and job_id = ?" : ""} order by seq limit ?)`,
            ...(jobId ? [next, jobId, archiveChunk] : [next, archiveChunk]),
          )
          .toArray();
        if (!chunk?.last) break;
        await writer.write(encoder.encode(chunk.body ?? ""));
        next = chunk.last + 1;
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => undefined);
    }
  }
}
