/** A scripted runner for tests: speaks the runner protocol over real HTTP and WebSockets. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { Job, ServerLogFrame } from "../../core/contracts/runner.ts";
import { call } from "./api.js";

/** Registers a runner (in the shared pool by default); returns its runner token. */
export async function registerRunner(labels: string[] = ["linux"], token = "shared-runner-token-for-tests"): Promise<string> {
  return (await registerRunnerWithId(labels, token)).runnerToken;
}

export async function registerRunnerWithId(
  labels: string[] = ["linux"],
  token = "shared-runner-token-for-tests",
): Promise<{ runnerId: string; runnerToken: string }> {
  const res = await call("POST", "/v1/runner/register", { body: { token, name: `r-${crypto.randomUUID().slice(0, 6)}`, labels, version: "test" } });
  expect(res.status, res.text).toBe(201);
  return res.body as { runnerId: string; runnerToken: string };
}

/** Registers a runner into a workspace's own pool (through a registration token the owner makes). */
export async function registerWorkspaceRunner(
  ownerToken: string,
  workspaceId: string,
  labels: string[] = ["linux"],
): Promise<{ runnerId: string; runnerToken: string }> {
  const reg = await call("POST", `/v1/workspaces/${workspaceId}/runner-tokens`, { token: ownerToken, body: { name: "test" } });
  expect(reg.status, reg.text).toBe(201);
  return registerRunnerWithId(labels, reg.body.token as string);
}

/** One claim (a runner's labels are those it registered with). */
export async function claim(runnerToken: string): Promise<Job | null> {
  const res = await call("POST", "/v1/runner/claim", { token: runnerToken, body: { capacity: 1 } });
  if (res.status === 204) return null;
  expect(res.status, res.text).toBe(200);
  return res.body as Job;
}

export const lease = (job: Job) => ({ leaseId: job.leaseId, fencingToken: job.fencingToken });

/**
 * Claims until a job `wanted` accepts comes, handing any other job back at once: the shared pool
 * also holds jobs of other tests (and of earlier test files: the workers project shares one runtime
 * and its objects' storage across files). A handed-back job is offered again behind the rest, so
 * one lap of the pool reaches every offer. A job seen a third time means two whole laps went by:
 * one lap is not enough, since another file's loop (files run side by side) may hold the wanted
 * job between its claim and its hand-back while this loop passes.
 */
export async function claimUntil(
  runnerToken: string,
  wanted: (job: Job) => boolean,
  what: string,
  onOther?: (job: Job) => void,
  claimOnce: (runnerToken: string) => Promise<Job | null> = claim,
): Promise<Job> {
  const seen = new Map<string, number>();
  for (;;) {
    // A claim long-polls (28 s): null means nothing more came, the wanted job included.
    const job = await claimOnce(runnerToken);
    if (!job) break;
    if (wanted(job)) return job;
    onOther?.(job);
    await call("POST", `/v1/runner/jobs/${job.jobId}/release`, { token: job.jobToken, body: { ...lease(job), reason: "shutdown" } });
    const times = (seen.get(job.jobId) ?? 0) + 1;
    if (times === 3) break;
    seen.set(job.jobId, times);
  }
  throw new Error(`no ${what} in the pool (handed back ${seen.size} other jobs)`);
}

/** Claims until the wanted build's job of `kind` comes. */
export function claimFor(runnerToken: string, buildId: string, kind: "plan" | "steps"): Promise<Job> {
  return claimUntil(runnerToken, (job) => job.buildId === buildId && job.kind === kind, `${kind} job of ${buildId}`);
}

/** Collects a WebSocket's JSON frames. */
export class Frames<T> {
  readonly received: T[] = [];
  #waiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (event) => {
      this.received.push(JSON.parse(String(event.data)) as T);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }
  /** Waits until `predicate` holds over the frames so far (or fails after 5 s). */
  async until(predicate: (frames: T[]) => boolean): Promise<T[]> {
    const deadline = Date.now() + 5000;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`timed out; frames so far: ${JSON.stringify(this.received).slice(0, 500)}`);
      await new Promise<void>((wake) => {
        this.#waiters.push(wake);
        setTimeout(wake, 100);
      });
    }
    return this.received;
  }
}

/** Opens the job's log socket with its job token. */
export async function openRunnerLog(job: Job): Promise<Frames<ServerLogFrame>> {
  const res = await SELF.fetch(`http://sparki.test/v1/runner/jobs/${job.jobId}/logs`, {
    headers: {
      upgrade: "websocket",
      authorization: `Bearer ${job.jobToken}`,
      "sparki-lease-id": job.leaseId,
      "sparki-fencing-token": String(job.fencingToken),
    },
  });
  expect(res.status).toBe(101);
  if (!res.webSocket) throw new Error("no WebSocket in the response");
  return new Frames<ServerLogFrame>(res.webSocket);
}
