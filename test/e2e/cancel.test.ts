/**
 * A cancel stops the running processes. The step starts a child that ignores SIGTERM (so the
 * runner's SIGKILL has to follow) and sleeps 60 s itself; `POST /v1/builds/:id/cancel` must leave
 * no process of the step's group alive within 5 s, and the build, its job and its step end
 * cancelled.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, groupMembers, oneStepYml, pgidOf, until, processAlive } from "./support.js";

const e2e = new E2E();
let marks: string;

const stepSh = (dir: string) => `(trap '' TERM; exec sleep 60) &
echo $! > "${dir}/child.pid.tmp" && mv "${dir}/child.pid.tmp" "${dir}/child.pid"
sleep 60 &
echo $! > "${dir}/sleep.pid.tmp" && mv "${dir}/sleep.pid.tmp" "${dir}/sleep.pid"
echo $$ > "${dir}/step.pid.tmp" && mv "${dir}/step.pid.tmp" "${dir}/step.pid"
echo "step running; its child ignores SIGTERM"
wait
echo "the step was not cancelled"
`;

const readPid = (name: string) => () => existsSync(join(marks, name)) && Number(readFileSync(join(marks, name), "utf8"));

beforeAll(async () => {
  await e2e.start();
  marks = join(e2e.work, "marks");
  mkdirSync(marks);
  await e2e.runner("canceller");
}, 180_000);

afterAll(() => e2e.close(), 60_000);

describe("cancelling a running build", () => {
  it("kills the step's whole process group within 5 s and ends the build cancelled", async () => {
    const repo = await e2e.gitRepo("cancel", {
      "package.json": JSON.stringify({ name: "cancel", version: "1.0.0" }),
      "sparki.yml": oneStepYml("sh step.sh"),
      "step.sh": stepSh(marks),
    });
    const project = await e2e.project("cancel", repo);
    const buildId = await e2e.trigger(project.id);

    const stepPid = await until("the step to start and write its pid", readPid("step.pid"), 60_000, { diagnostics: () => e2e.diagnostics() });
    const childPid = await until("the child's pid", readPid("child.pid"), 5_000);
    const sleepPid = await until("the sleep's pid", readPid("sleep.pid"), 5_000);
    const group = pgidOf(stepPid);
    if (group === undefined) throw new Error("the step exited before the cancel");
    e2e.orphans.add(group);
    // The step runs in a process group of its own, and everything it started is in it.
    expect(group).not.toBe(process.pid);
    expect(pgidOf(childPid)).toBe(group);
    const before = groupMembers(group);
    expect(before).toEqual(expect.arrayContaining([stepPid, childPid, sleepPid]));
    await until(
      "the viewer-visible step line",
      async () => (await e2e.bytes(`/v1/builds/${buildId}/logs.txt`)).body.toString().includes("step running"),
      10_000,
    );
    const running = await e2e.build(buildId);
    expect(running.status).toBe("running");
    expect(running.jobs[1]).toMatchObject({ kind: "steps", status: "running" });

    const cancelAt = Date.now();
    const cancel = await e2e.api("POST", `/v1/builds/${buildId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe("cancelled");
    await until(
      `every process of the step's group (${before.join(", ")}) to be gone`,
      () => groupMembers(group).length === 0,
      5_000 - (Date.now() - cancelAt),
      {
        intervalMs: 25,
        diagnostics: () => `still alive: ${groupMembers(group).join(", ")}\n${e2e.diagnostics()}`,
      },
    );
    const goneAfterMs = Date.now() - cancelAt;
    for (const pid of [stepPid, childPid, sleepPid]) expect(processAlive(pid), `pid ${pid}`).toBe(false);
    console.log(`cancel: the step's ${before.length} processes were gone ${goneAfterMs} ms after POST /cancel`);

    const done = await e2e.waitForEnd(buildId, 30_000);
    expect(done.status).toBe("cancelled");
    expect(done.completedAt).not.toBeNull();
    expect(done.jobs.map((j: any) => [j.kind, j.status])).toEqual([
      ["plan", "succeeded"],
      ["steps", "cancelled"],
    ]);
    expect(done.jobs[1].steps).toMatchObject([{ id: "build", status: "cancelled", exitCode: null }]);
    const runner = e2e.runners[0]!;
    await until("the runner to report the job finished cancelled", () => runner.output().includes(`job ${done.jobs[1].id}: finished cancelled`), 10_000, {
      diagnostics: () => runner.output(),
    });
    expect(runner.output()).toContain(`job ${done.jobs[1].id}: stopping (cancel)`);
    expect((await e2e.bytes(`/v1/builds/${buildId}/logs.txt`)).body.toString()).not.toContain("the step was not cancelled");

    // The Postgres record says cancelled as well (the list reads Postgres).
    await until(
      "the cancelled status in Postgres",
      async () => (await e2e.api("GET", `/v1/projects/${project.id}/builds?status=cancelled`)).body.items?.some((b: any) => b.id === buildId),
      15_000,
    );
  }, 120_000);
});
