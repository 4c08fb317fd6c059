/**
 * Test fixtures for the runner: a real git repository in a temp folder (with its own
 * identity and no global config, so the host's git setup cannot change the result) and an
 * in-process agent registered against a {@link FakeControlPlane}.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Agent, type AgentOptions } from "../agent.ts";
import { ControlPlaneClient } from "../client.ts";
import type { OutputSink } from "../logs.ts";
import type { FakeControlPlane } from "./fake-control-plane.ts";

/** Environment for the test's own git commands. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Sparki Test",
  GIT_AUTHOR_EMAIL: "test@sparki.invalid",
  GIT_COMMITTER_NAME: "Sparki Test",
  GIT_COMMITTER_EMAIL: "test@sparki.invalid",
};

export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, env: GIT_ENV, encoding: "utf8" }).trim();
}

/** A repository on branch `main` with one commit per entry of `commits`; returns each sha. */
export async function createRepo(commits: Record<string, string>[]): Promise<{ dir: string; shas: string[]; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "sparki-repo-"));
  gitIn(dir, "init", "--quiet", "--initial-branch=main");
  const shas: string[] = [];
  for (const [i, files] of commits.entries()) {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    gitIn(dir, "add", "--all");
    gitIn(dir, "commit", "--quiet", "--allow-empty", "-m", `commit ${i + 1}`);
    shas.push(gitIn(dir, "rev-parse", "HEAD"));
  }
  return { dir, shas, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A running in-process agent and what it printed. */
export interface TestAgent {
  agent: Agent;
  said: string[];
  done: Promise<void>;
  workDir: string;
  /** Hands back whatever runs and waits for the agent to stop. */
  stop(): Promise<void>;
}

/** Registers a runner with the fake and starts an agent for it. */
export async function startAgent(fake: FakeControlPlane, options: Partial<AgentOptions> & { labels?: string[] } = {}): Promise<TestAgent> {
  const labels = options.labels ?? ["linux"];
  const registered = await new ControlPlaneClient(fake.url).register({ token: fake.registrationToken, name: "test-runner", labels, version: "test" });
  const workDir = await mkdtemp(join(tmpdir(), "sparki-work-"));
  const said: string[] = [];
  const agent = new Agent({
    client: new ControlPlaneClient(fake.url, registered.runnerToken),
    labels,
    concurrency: 1,
    workDir,
    graceMs: 60_000,
    say: (m) => said.push(m),
    backoff: { baseMs: 20, capMs: 200 },
    logDrainMs: 10_000,
    ...options,
  });
  const done = agent.run();
  // A test that ends the agent's run on purpose (a revoked token) awaits `done` itself; the
  // others must not see its rejection reported as unhandled between the test and stop().
  done.catch(() => undefined);
  return {
    agent,
    said,
    done,
    workDir,
    async stop() {
      agent.shutdown();
      agent.shutdown();
      await done.catch(() => undefined);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** A minimal job spec over `repo` at `sha`. */
export function jobSpec(dir: string, sha: string, steps: { id: string; command: string; timeoutSeconds?: number; env?: Record<string, string> }[]) {
  return {
    repo: { url: dir, commitSha: sha, branch: "main" },
    steps: steps.map((s) => ({ id: s.id, name: s.id, command: s.command, timeoutSeconds: s.timeoutSeconds ?? 60, env: s.env ?? {} })),
    env: {},
    secrets: [],
    artifacts: [],
    timeoutSeconds: 120,
  };
}

/** True when the pid is gone or a zombie (dead, waiting for a parent that may never reap it). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return / Z /.test(stat.slice(stat.lastIndexOf(")")));
  } catch {
    return true;
  }
}

/** An output sink that keeps what it is given, for a test to read back as text. */
export function collect(): OutputSink & { text: () => string } {
  const parts: string[] = [];
  return {
    write: (chunk) => parts.push(Buffer.from(chunk).toString("utf8")) > 0,
    onDrain: (fn) => fn(),
    note: (text) => void parts.push(`${text}\n`),
    end: () => undefined,
    text: () => parts.join(""),
  };
}
