/**
 * Fault: a runner killed with SIGKILL in the middle of a job. Runner A claims the job and its
 * step starts (it prints, marks that it ran, then sleeps 30 s); the test kills A's whole process
 * group and the step's (as when the host dies). Runner B, already polling, must get the job once
 * A's lease expires (6 s here), run it again (the step sees the mark and ends at once), and the
 * build ends succeeded with the job on its second attempt.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, logBytes, oneStepYml, pgidOf, until, processAlive, type RunnerProcess } from "./support.js";

const e2e = new E2E();
const leaseSeconds = 6;
let marks: string;

// The first attempt prints enough lines that a mix-up of the two attempts' log lines shows.
const stepSh = (dir: string) => `set -e
if [ -e "${dir}/attempt-1" ]; then
  echo "attempt 2 on runner $E2E_RUNNER: the first attempt's mark is there, finishing"
  exit 0
fi
: > "${dir}/attempt-1"
for i in $(seq 1 20); do echo "attempt 1 on runner $E2E_RUNNER: line $i"; done
sleep 30 &
echo $! > "${dir}/sleep.pid.tmp" && mv "${dir}/sleep.pid.tmp" "${dir}/sleep.pid"
echo $$ > "${dir}/step.pid.tmp" && mv "${dir}/step.pid.tmp" "${dir}/step.pid"
wait
echo "attempt 1 woke up: the runner was not killed"
`;

beforeAll(async () => {
  await e2e.start({ vars: { RUNNER_LEASE_SECONDS: String(leaseSeconds) } });
  marks = join(e2e.work, "marks");
  mkdirSync(marks);
}, 180_000);

afterAll(() => e2e.close(), 60_000);

describe("a runner killed mid-job", () => {
  let buildId: string;
  let a: RunnerProcess;
  let b: RunnerProcess;
  let done: any;

  it("requeues the job when the lease expires; a second runner finishes it and the build succeeds on attempt 2", async () => {
    a = await e2e.runner("runner-a");
    const repo = await e2e.gitRepo("killed", {
      "package.json": JSON.stringify({ name: "killed", version: "1.0.0" }),
      "sparki.yml": oneStepYml("sh step.sh"),
      "step.sh": stepSh(marks),
    });
    const project = await e2e.project("killed", repo);
    buildId = await e2e.trigger(project.id);

    // A runs the plan job, then the step job, whose step writes its pids once it is sleeping.
    const stepPid = await until(
      "the first attempt's step to start on runner A",
      () => existsSync(join(marks, "step.pid")) && Number(readFileSync(join(marks, "step.pid"), "utf8")),
      60_000,
      { diagnostics: () => e2e.diagnostics() },
    );
    const sleepPid = await until(
      "the sleep's pid",
      () => existsSync(join(marks, "sleep.pid")) && Number(readFileSync(join(marks, "sleep.pid"), "utf8")),
      5_000,
    );
    const stepGroup = pgidOf(stepPid);
    if (stepGroup === undefined) throw new Error("the step exited before it was killed");
    e2e.orphans.add(stepGroup);
    const running = await e2e.build(buildId);
    const job = running.jobs.find((j: any) => j.kind === "steps");
    expect(job).toMatchObject({ status: "running", attempt: 1 });
    expect(a.output()).toContain(`claimed job ${job.id}`);

    // B polls for work from now on: only the requeue can give it this job.
    b = await e2e.runner("runner-b");

    // The host dies: the runner and the step's own process group (steps run in a group of
    // their own, so killing the runner's group alone would leave them running).
    a.killHard();
    process.kill(-stepGroup, "SIGKILL");
    expect(await a.exited).toMatchObject({ signal: "SIGKILL" });
    await until("the first attempt's processes to be gone", () => !processAlive(stepPid) && !processAlive(sleepPid), 5_000);
    // Not requeued by the death itself (its log socket closing, its claims stopping): A beat
    // every ~2 s (a third of the lease), so its lease still runs, and the job is still A's.
    expect((await e2e.build(buildId)).jobs.find((j: any) => j.id === job.id)).toMatchObject({ status: "running", attempt: 1 });
    expect(b.output()).not.toContain(`claimed job ${job.id}`);

    // Requeued once the lease runs out, and soon after (the lease plus the coordinator's alarm).
    await until(`runner B to claim job ${job.id}`, () => b.output().includes(`claimed job ${job.id}`), leaseSeconds * 1000 + 20_000, {
      diagnostics: () => e2e.diagnostics(),
    });
    done = await e2e.waitForEnd(buildId, 60_000);

    expect(done.status, e2e.diagnostics()).toBe("succeeded");
    expect(done.jobs.map((j: any) => [j.kind, j.status, j.attempt])).toEqual([
      ["plan", "succeeded", 1],
      ["steps", "succeeded", 2],
    ]);
    expect(done.jobs[1].steps).toMatchObject([{ id: "build", status: "succeeded", exitCode: 0 }]);
    await until("runner B to report the job finished", () => b.output().includes(`job ${job.id}: finished succeeded`), 10_000, {
      diagnostics: () => b.output(),
    });
  }, 150_000);

  // The job's lines are numbered from 1 on each attempt: the second attempt's must not be taken
  // for re-sent lines of the first (they were, before the coordinator kept lines per fencing token).
  it("keeps both attempts' lines in the log, the same for logs.txt and a viewer", async () => {
    expect(done?.status).toBe("succeeded");
    const text = (await e2e.bytes(`/v1/builds/${buildId}/logs.txt`)).body.toString("utf8");
    const attempt1 = Array.from({ length: 20 }, (_, i) => `attempt 1 on runner runner-a: line ${i + 1}\n`).join("");
    expect(text).toContain(attempt1);
    expect(text).toContain("attempt 2 on runner runner-b: the first attempt's mark is there, finishing\n");
    expect(text.indexOf(attempt1)).toBeLessThan(text.indexOf("attempt 2 on runner runner-b"));
    // Both attempts checked out: the plan job's checkout, then the step job's twice (in the plan's
    // folder when on the plan's runner, afresh from the mirror on the other).
    expect(text.match(/^\$ git checkout --quiet --force --detach [0-9a-f]{40}$/gm)).toHaveLength(3);

    const viewer = e2e.viewer(buildId);
    await viewer.opened;
    await until("the viewer's backlog and the build's status", () => viewer.statuses.includes("succeeded"), 5_000);
    viewer.close();
    expect(viewer.lines.map((l) => l.seq)).toEqual(viewer.lines.map((_, i) => i + 1));
    expect(logBytes(viewer.lines).toString("utf8")).toBe(text);
  }, 30_000);
});
