import type { Command } from "commander";
import type { BuildStatus } from "../../core/build/index.ts";
import type { ApiClient } from "../api.ts";
import { act } from "../context.ts";
import { build, builds, cancelBuild, requireId, resolveProject, retryBuild, triggerBuild, type Build } from "../endpoints.ts";
import { followLog, lineText } from "../log-stream.ts";
import { ago, duration, printFields, printJson, printTable, spinner, status } from "../output.ts";
import { UserError } from "../../node/user-error.ts";

/** How often a followed build is asked why its queued jobs wait (the log socket does not say). */
const waitingPollMs = 3000;

/**
 * Prints, on stderr, why each queued job of the build waits (no runner online with its labels,
 * all busy, jobs it needs), once per job and reason, until `signal` aborts: a build that cannot
 * start must not look like one about to. Errors are left to the log stream, which reports them.
 */
async function sayWhyJobsWait(api: ApiClient, buildId: string, signal: AbortSignal, clearLine: () => void): Promise<void> {
  const said = new Map<string, string>();
  while (!signal.aborted) {
    const b = await build(api, buildId).catch(() => null);
    if (signal.aborted) return;
    for (const job of b?.jobs ?? []) {
      const reason = job.waiting?.reason;
      if (reason === undefined) said.delete(job.id);
      else if (said.get(job.id) !== reason) {
        said.set(job.id, reason);
        clearLine();
        process.stderr.write(`job ${job.name} waiting: ${reason}\n`);
      }
    }
    // Later jobs queue as earlier ones end (the plan expands into them): ask until the log
    // stream ends, less often while nothing waits.
    const queued = !b || b.status === "queued" || b.jobs.some((j) => j.status === "queued");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, queued ? waitingPollMs : 4 * waitingPollMs);
      timer.unref();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }
}

/** Prints a build's log live until it ends; exit 0 when it succeeded, 1 otherwise. */
export async function followBuild(api: ApiClient, buildId: string, from = 1): Promise<void> {
  const token = api.requireToken();
  const headers = process.stdout.isTTY;
  let lastStep = "";
  const wait = spinner("waiting for the log…");
  let waiting = true;
  const stopAsking = new AbortController();
  const asking = sayWhyJobsWait(api, buildId, stopAsking.signal, () => {
    if (process.stderr.isTTY) process.stderr.write("\r\x1b[2K");
  });
  const final: BuildStatus = await followLog({
    socketUrl: api.socketUrl(`/v1/builds/${encodeURIComponent(buildId)}/logs`),
    token,
    from,
    onLines: (lines) => {
      if (waiting) wait.stop();
      waiting = false;
      let out = "";
      for (const line of lines) {
        const step = `${line.jobId} ${line.step}`;
        if (headers && step !== lastStep) out += `\x1b[2m── ${line.step} (job ${line.jobId.split(".").pop()})\x1b[0m\n`;
        lastStep = step;
        out += lineText(line);
      }
      process.stdout.write(out);
    },
    onStatus: (s) => wait.text(`build ${s}…`),
    onReconnect: (attempt, delay, reason) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K(reconnecting in ${delay} ms: ${reason}, attempt ${attempt})\n`);
    },
  }).finally(() => stopAsking.abort());
  await asking;
  wait.stop();
  if (final !== "succeeded") {
    // The build's own reason (a plan that failed because no runner has its runtime) ends the line.
    const why = (await build(api, buildId).catch(() => null))?.error;
    throw new UserError(why ? `build ${final}: ${why}` : `build ${final}`, 1);
  }
}

function printBuild(b: Build): void {
  printFields([
    ["build", `#${b.number} ${b.id}`],
    ["status", status(b.status)],
    b.tag ? ["tag", b.tag] : ["branch", b.branch],
    ["commit", b.commitSha],
    // A build that has not started shows when it was queued, not a start that never happened.
    b.startedAt ? ["started", b.startedAt] : ["queued", `${b.queuedAt} (${ago(b.queuedAt)})`],
    ["duration", duration(b.startedAt, b.completedAt)],
    ["error", b.error],
  ]);
  if (!b.jobs.length) return;
  process.stdout.write("\n");
  const rows: Array<Array<string | number | null>> = [];
  for (const j of b.jobs) {
    rows.push([j.name, j.waiting ? `${status(j.status)}: ${j.waiting.reason}` : status(j.status), j.exitCode, duration(j.startedAt, j.completedAt)]);
    for (const s of j.steps) rows.push([`  ${s.name}`, status(s.status), s.exitCode, duration(s.startedAt, s.finishedAt)]);
  }
  printTable(["job / step", "status", "exit", "time"], rows);
}

export function registerBuilds(program: Command): void {
  const cmd = program.command("builds").description("list, trigger, show, cancel and retry builds");
  cmd
    .command("list", { isDefault: true })
    .description("list a project's builds, newest first")
    .option("--project <project>", "project id or name")
    .option("--status <status>", "only builds in this status")
    .option("--branch <branch>", "only builds of this branch")
    .option("--limit <n>", "how many", "25")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const projectId = await resolveProject(api, opts.project as string | undefined, settings.workspaceId);
        const page = await builds(api, projectId, {
          status: opts.status as string | undefined,
          branch: opts.branch as string | undefined,
          limit: Number(opts.limit),
        });
        if (json) return printJson(page);
        printTable(
          ["id", "#", "status", "branch", "commit", "created", "duration"],
          page.items.map((b) => [
            b.id,
            b.number,
            status(b.status),
            b.tag ? `tag ${b.tag}` : b.branch,
            b.commitSha?.slice(0, 8),
            ago(b.createdAt),
            duration(b.startedAt, b.completedAt),
          ]),
          "no builds",
        );
      }),
    );
  cmd
    .command("trigger")
    .description("start a build of a project (its default branch unless told)")
    .option("--project <project>", "project id or name")
    .option("--branch <branch>", "branch to build")
    .option("--commit <sha>", "full commit SHA to build")
    .option("-f, --follow", "print the log live; exit 0 when the build succeeds")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const projectId = await resolveProject(api, opts.project as string | undefined, settings.workspaceId);
        const queued = await triggerBuild(api, projectId, { branch: opts.branch as string | undefined, commitSha: opts.commit as string | undefined });
        if (json) printJson(queued);
        else process[opts.follow ? "stderr" : "stdout"].write(`Build #${queued.number} queued: ${queued.id}\n`);
        if (opts.follow) await followBuild(api, queued.id);
      }),
    );
  cmd
    .command("show")
    .description("show a build with its jobs and steps")
    .argument("<build>", "build id")
    .action(
      act(async ({ api, json }, id: string) => {
        const b = await build(api, requireId("build", id));
        if (json) return printJson(b);
        printBuild(b);
      }),
    );
  for (const [verb, fn, text] of [
    ["cancel", cancelBuild, "cancel a queued or running build"],
    ["retry", retryBuild, "re-run the unsuccessful jobs of a finished build"],
  ] as const) {
    cmd
      .command(verb)
      .description(text)
      .argument("<build>", "build id")
      .action(
        act(async ({ api, json }, id: string) => {
          const b = await fn(api, requireId("build", id));
          if (json) return printJson(b);
          process.stdout.write(`Build #${b.number} is ${b.status}\n`);
        }),
      );
  }

  program
    .command("logs")
    .description("print a build's log (the text so far, or live with -f)")
    .argument("<build>", "build id")
    .option("-f, --follow", "follow live until the build ends; exit 0 when it succeeded, 1 otherwise")
    .option("--from <seq>", "start at this line number (1 = the first)", "1")
    .action(
      act(async ({ api, opts }, id: string) => {
        const from = Number(opts.from);
        if (!Number.isInteger(from) || from < 1) throw new UserError("--from must be a line number (1 or more)", 2);
        // One GET first: a clean 401/404 and, without -f, nothing else to ask.
        await build(api, requireId("build", id));
        if (opts.follow) return followBuild(api, id, from);
        const reader = (await api.stream(`/v1/builds/${encodeURIComponent(id)}/logs.txt`)).getReader();
        let skip = from - 1;
        let carry = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (skip === 0) {
            process.stdout.write(value);
            continue;
          }
          // --from without -f: drop the first lines of the text.
          carry += Buffer.from(value).toString("utf8");
          while (skip > 0 && carry.includes("\n")) {
            carry = carry.slice(carry.indexOf("\n") + 1);
            skip--;
          }
          if (skip === 0) {
            process.stdout.write(carry);
            carry = "";
          }
        }
      }),
    );
}
