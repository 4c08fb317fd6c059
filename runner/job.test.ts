import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeControlPlane } from "./testing/fake-control-plane.ts";
import { createRepo, jobSpec, processGone, startAgent, type TestAgent } from "./testing/harness.ts";
import { until } from "../test/until.ts";

let fake: FakeControlPlane;
let agent: TestAgent;
let repo: Awaited<ReturnType<typeof createRepo>>;

beforeEach(async () => {
  fake = await FakeControlPlane.start();
  repo = await createRepo([{ "README.md": "# test\n", "hello.sh": 'echo "hello from $SPARKI_STEP_ID"\n' }]);
  agent = await startAgent(fake);
});

afterEach(async () => {
  await agent.stop();
  await fake.close();
  await repo.cleanup();
});

const sha = () => repo.shas[0] as string;
const seqs = (id: string) => fake.job(id).log.map((l) => l.seq);

describe("runner against the fake control plane", () => {
  it("runs a job whose steps succeed; lines arrive in order, none lost or doubled", async () => {
    const steps = [
      { id: "count", command: 'for i in $(seq 1 2000); do echo "line $i"; done' },
      { id: "color", command: "sh hello.sh; printf '\\033[31mred\\033[0m\\n'; printf 'tail without newline'" },
    ];
    const id = fake.enqueue(jobSpec(repo.dir, sha(), steps));
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(job.result?.steps.map((s) => [s.id, s.status, s.exitCode])).toEqual([
      ["count", "succeeded", 0],
      ["color", "succeeded", 0],
    ]);
    const expected = Array.from({ length: 2000 }, (_, i) => `line ${i + 1}\n`).join("");
    expect(fake.logText(id, ["count"])).toBe(expected);
    expect(fake.logText(id, ["color"])).toBe("hello from color\n\u001b[31mred\u001b[0m\ntail without newline");
    expect(seqs(id)).toEqual(Array.from({ length: job.log.length }, (_, i) => i + 1));
    expect(job.stepUpdates.map((u) => `${u.stepId}:${u.status}`)).toEqual(["count:running", "count:succeeded", "color:running", "color:succeeded"]);
    expect(agent.said).toContain(`claimed job ${id} (build build-1, 2 step(s))`);
    expect(agent.said.some((l) => /^job .+: step count exited 0 in \d+\.\d s$/.test(l))).toBe(true);
  });

  it("ends the job failed with the failing step's exit code and skips the rest", async () => {
    const id = fake.enqueue(
      jobSpec(repo.dir, sha(), [
        { id: "ok", command: "echo fine" },
        { id: "bad", command: "echo before; exit 3" },
        { id: "never", command: "echo never" },
      ]),
    );
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result).toMatchObject({ status: "failed", exitCode: 3 });
    expect(job.result?.steps.map((s) => s.status)).toEqual(["succeeded", "failed", "skipped"]);
    expect(fake.logText(id)).not.toContain("never");
    expect(job.state.status).toBe("failed");
  });

  it("cancel kills the whole process group within 5 s", async () => {
    const id = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "wait", command: 'sleep 60 & echo "child $!"; echo "shell $$"; sleep 60; wait' }]));
    const running = await fake.waitFor(id, (j) => j.log.some((l) => l.text.startsWith("shell ")));
    const pids = running.log
      .map((l) => /^(child|shell) (\d+)$/.exec(l.text)?.[2])
      .filter((p): p is string => p !== undefined)
      .map(Number);
    expect(pids).toHaveLength(2);
    fake.cancel(id);
    await until(`the step's processes (${pids.join(", ")}) to be gone`, () => pids.every(processGone), 5000);
    const job = await fake.waitFor(id, (j) => j.result !== null, 10_000);
    expect(job.result).toMatchObject({ status: "cancelled", exitCode: null, steps: [{ id: "wait", status: "cancelled" }] });
  });

  it("learns of a cancel from its heartbeat when the log socket did not push it", async () => {
    const id = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "wait", command: "echo up; sleep 60" }]));
    await fake.waitFor(id, (j) => j.log.some((l) => l.text === "up"));
    fake.cancel(id, { push: false });
    const job = await fake.waitFor(id, (j) => j.result !== null, 10_000);
    expect(job.result).toMatchObject({ status: "cancelled" });
  });

  it("times a step out and kills it", async () => {
    const id = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "slow", command: "echo start; sleep 30", timeoutSeconds: 1 }]));
    const job = await fake.waitFor(id, (j) => j.result !== null, 10_000);
    expect(job.result).toMatchObject({ status: "timed_out", exitCode: null, steps: [{ id: "slow", status: "timed_out" }] });
    expect(fake.logText(id, ["slow"])).toBe("start\nsparki: step timed out after 1 s\n");
  });

  it("keeps the log byte for byte when the socket is cut three times mid-stream", async () => {
    // Colours, multi-byte text, \r\n endings, varying lengths and a last line without a newline.
    const command =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${pad} is the shell script's own variable
      "i=0; pad=''; while [ $i -lt 10000 ]; do i=$((i+1)); pad=\"${pad}x\"; [ ${#pad} -gt 50 ] && pad=''; printf '\\033[3%dm%05d\\033[0m héllo ✓ %s\\r\\n' $((i % 8)) $i \"$pad\"; done; printf 'end'";
    const id = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "spam", command }]));
    // A connection takes at most 299 + one frame (1000) lines before its cut, so three cuts
    // always happen well before the 10,000 lines end.
    fake.cutLogSocket(id, 300, 3);
    const job = await fake.waitFor(id, (j) => j.result !== null, 30_000);
    expect(job.result?.status).toBe("succeeded");
    const printed = execFileSync("/bin/sh", ["-c", command], { cwd: repo.dir, encoding: "utf8" });
    expect(fake.logText(id, ["spam"])).toBe(printed);
    expect(job.logConnections).toBeGreaterThanOrEqual(4);
    expect(job.cut?.remaining).toBe(0);
    expect(seqs(id)).toEqual(Array.from({ length: job.log.length }, (_, i) => i + 1));
    expect(agent.said.filter((l) => l.includes("log stream disconnected")).length).toBeGreaterThanOrEqual(3);
  });

  it("masks secrets, even split across two chunks of output", async () => {
    const secret = "s3cr3t-VALUE-xyz";
    const spec = jobSpec(repo.dir, sha(), [{ id: "leak", command: "printf 's3cr3t-VA'; sleep 0.3; printf 'LUE-xyz split\\n'; echo \"env $API_KEY\"" }]);
    const id = fake.enqueue({ ...spec, secrets: [{ name: "API_KEY", value: secret }] });
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result?.status).toBe("succeeded");
    expect(fake.logText(id)).not.toContain("s3cr3t");
    expect(fake.logText(id, ["leak"])).toBe("*** split\nenv ***\n");
  });
});
