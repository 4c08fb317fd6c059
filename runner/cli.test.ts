import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeControlPlane } from "./testing/fake-control-plane.ts";
import { createRepo, jobSpec, processGone } from "./testing/harness.ts";
import { until } from "../test/until.ts";
import { runnerBundleBin } from "../dev/bins.ts";

const BIN = runnerBundleBin;

let fake: FakeControlPlane;
let home: string;
let repo: Awaited<ReturnType<typeof createRepo>>;
const children: ChildProcess[] = [];

beforeEach(async () => {
  fake = await FakeControlPlane.start({ claimWaitMs: 300 });
  home = await mkdtemp(join(tmpdir(), "sparki-runner-home-"));
  repo = await createRepo([{ "README.md": "cli\n" }]);
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await fake.close();
  await rm(home, { recursive: true, force: true });
  await repo.cleanup();
});

/** Starts the real bin; resolves stdout/stderr/exit code when it exits. */
function runner(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, stdout, stderr })),
  );
  const waitOut = async (pattern: RegExp, timeoutMs = 20_000) => {
    await until(`${pattern} in the runner's output`, () => pattern.test(stdout) || child.exitCode !== null, timeoutMs, {
      diagnostics: () => `${stdout}\n${stderr}`,
    });
    if (!pattern.test(stdout)) throw new Error(`the runner exited (${child.exitCode}) without ${pattern}:\n${stdout}\n${stderr}`);
  };
  return { child, exited, waitOut };
}

/** Host pids whose argv has `arg`, once there is one (polled: the process may be starting). */
async function hostPidsOf(arg: string): Promise<number[]> {
  return until(`a process with ${arg} in its argv`, () => {
    const pids = readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e) && !processGone(Number(e)))
      .filter((e) => {
        try {
          return readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").includes(arg);
        } catch {
          return false;
        }
      });
    return pids.length > 0 && pids.map(Number);
  });
}

async function register(): Promise<string> {
  const config = join(home, "runner.json");
  const { exited } = runner([
    "register",
    "--url",
    fake.url,
    "--token",
    fake.registrationToken,
    "--name",
    "ci-box",
    "--labels",
    "linux,docker",
    "--config",
    config,
  ]);
  const result = await exited;
  expect(result).toMatchObject({ code: 0, stderr: "" });
  return config;
}

describe("sparki-runner", () => {
  it("register writes an owner-only config under --config", async () => {
    const config = await register();
    // The fake's registration token is not a workspace's `srg_` token: the shared pool's.
    expect(JSON.parse(await readFile(config, "utf8"))).toMatchObject({ url: fake.url, name: "ci-box", labels: ["linux", "docker"], pool: "shared" });
    expect((await stat(config)).mode & 0o777).toBe(0o600);
  });

  it("user errors are one line on stderr and exit 1, not a stack trace", async () => {
    const bad = await runner(["register", "--url", fake.url, "--token", "wrong", "--name", "ci-box"]).exited;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("sparki-runner: registration refused: registration token not valid (HTTP 401); check --token\n");
    const missing = await runner(["run", "--config", join(home, "nope.json")]).exited;
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("run `sparki-runner register` first");
  });

  it("a shared-pool runner without a working bwrap refuses to start, and says why in one line", async () => {
    const config = await register();
    const child = spawn(process.execPath, [BIN, "run", "--config", config, "--work-dir", join(home, "work")], {
      env: { ...process.env, HOME: home, PATH: home },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^sparki-runner: cannot sandbox steps: bwrap was not found on PATH \(Debian\/Ubuntu: apt-get install bubblewrap\); this runner serves the shared pool and refuses to run other workspaces' code unsandboxed\n$/,
    );
  });

  it("--no-sandbox: refused for the shared pool of a remote control plane, taken (and logged) for a workspace's runner", async () => {
    const config = await register();
    const written = JSON.parse(await readFile(config, "utf8"));
    await writeFile(config, JSON.stringify({ ...written, url: "https://sparki.example.invalid" }));
    const shared = await runner(["run", "--no-sandbox", "--config", config, "--work-dir", join(home, "work")]).exited;
    expect(shared.code).toBe(1);
    expect(shared.stderr).toMatch(/^sparki-runner: --no-sandbox is refused: this runner serves the shared pool, .*\n$/);
    await writeFile(config, JSON.stringify({ ...written, url: "https://sparki.example.invalid", pool: "workspace" }));
    // SPARKI_RUNNER_NO_SANDBOX=1 is the flag's twin (for service managers).
    const viaEnv = spawn(process.execPath, [BIN, "run", "--config", config, "--work-dir", join(home, "work")], {
      env: { ...process.env, HOME: home, SPARKI_RUNNER_NO_SANDBOX: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(viaEnv);
    let out = "";
    viaEnv.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await until("the runner to start unsandboxed", () => /runner started: .*not sandboxed/.test(out) || viaEnv.exitCode !== null, 20_000, {
      diagnostics: () => out,
    });
    expect(out).toMatch(
      /sandbox off \(--no-sandbox\): steps run as this runner's user with its environment; this runner serves only its workspace\n[\s\S]*runner started: .*not sandboxed/,
    );
  });

  it("SIGTERM lets a running job finish within the grace period, then exits 0", async () => {
    const config = await register();
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "short", command: "sleep 1; echo done" }]));
    const proc = runner(["run", "--config", config, "--work-dir", join(home, "work"), "--grace-period", "30"]);
    await proc.waitOut(/step short|checked out/);
    proc.child.kill("SIGTERM");
    const result = await proc.exited;
    expect(result.code).toBe(0);
    expect(fake.job(id).result).toMatchObject({ status: "succeeded" });
    expect(fake.logText(id, ["short"])).toBe("done\n");
    expect(result.stdout).toMatch(/received SIGTERM[\s\S]*finished succeeded[\s\S]*runner stopped/);
  });

  it("SIGTERM hands a job back when the grace period runs out, killing its processes", async () => {
    const config = await register();
    // The step's `$$` is a pid of its sandbox's namespace: find its sleep by a unique argument.
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "long", command: "echo started; sleep 6011" }]));
    const proc = runner(["run", "--config", config, "--work-dir", join(home, "work"), "--grace-period", "1"]);
    await fake.waitFor(id, (j) => j.log.some((l) => l.text === "started"));
    const [pid] = await hostPidsOf("6011");
    expect(pid).toBeDefined();
    proc.child.kill("SIGTERM");
    // The step sleeps for hours: only the 1 s grace period running out lets the runner exit.
    let ended: Awaited<typeof proc.exited> | undefined;
    void proc.exited.then((r) => (ended = r));
    const result = await until("the runner to exit once its grace period ran out", () => ended, 8000);
    expect(result.code).toBe(0);
    expect(fake.job(id).state).toMatchObject({ status: "queued", attempt: 1, leaseId: null });
    expect(fake.job(id).result).toBeNull();
    expect(processGone(pid as number)).toBe(true);
    expect(result.stdout).toMatch(/grace period over, handing back 1 job\(s\)[\s\S]*handed back/);
  });
});
