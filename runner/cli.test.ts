import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeControlPlane } from "./testing/fake-control-plane.ts";
import { createRepo, jobSpec, processGone } from "./testing/harness.ts";
import { hostPidsWithArg, processMarkers } from "../test/process-markers.ts";
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
function runner(args: string[], env: Record<string, string> = {}) {
  // The test process's own SPARKI_* settings, if any, must not leak into the runner's.
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^SPARKI_(URL|RUNNER_)/.test(name)));
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, HOME: home, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
  /** `exited`, or a failure naming what the runner printed when it has not exited within `timeoutMs`. */
  const exitedWithin = async (timeoutMs = 45_000) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`the runner did not exit within ${timeoutMs / 1000} s; it printed:\n${stdout}\n${stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([exited, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, exited, waitOut, exitedWithin };
}

/** Host pids whose argv has `arg`, once there is one (polled: the process may be starting). */
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
  it("register tries again while the control plane answers 503, and gives up on a refusal at once", async () => {
    fake.failRegistrations = { status: 503, remaining: 2 };
    const config = await register();
    expect(JSON.parse(await readFile(config, "utf8"))).toMatchObject({ name: "ci-box" });
    expect(fake.runners.size).toBe(1);
    fake.failRegistrations = { status: 403, remaining: 1 };
    const refused = await runner(["register", "--url", fake.url, "--token", fake.registrationToken, "--name", "ci-box"]).exited;
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("registration refused");
    expect(fake.failRegistrations.remaining).toBe(0);
    expect(fake.runners.size).toBe(1);
  });

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
    // It said it stopped claiming, so no poll of its could take the next job.
    expect(fake.disconnects).toContain(JSON.parse(await readFile(config, "utf8")).runnerId);
  });

  it("SIGTERM hands a job back when the grace period runs out, killing its processes", async () => {
    const config = await register();
    // The step's `$$` is a pid of its sandbox's namespace: find its sleep by a unique argument.
    const [marker] = processMarkers(1) as [string];
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "long", command: `echo started; sleep ${marker}` }]));
    const proc = runner(["run", "--config", config, "--work-dir", join(home, "work"), "--grace-period", "1"]);
    await fake.waitFor(id, (j) => j.log.some((l) => l.text === "started"));
    const [pid] = await until(`a process with ${marker} in its argv`, () => {
      const pids = hostPidsWithArg(marker);
      return pids.length > 0 && pids;
    });
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

  it("runs from SPARKI_URL and SPARKI_RUNNER_TOKEN alone, with no config file", async () => {
    const written = JSON.parse(await readFile(await register(), "utf8"));
    await rm(join(home, "runner.json"));
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "hello", command: "echo from env" }]));
    // No --config, and HOME has no ~/.sparki-runner: only the environment says where and who.
    const proc = runner(["run", "--ephemeral", "--no-sandbox", "--pool", "workspace", "--work-dir", join(home, "work")], {
      SPARKI_URL: fake.url,
      SPARKI_RUNNER_TOKEN: written.runnerToken,
    });
    const result = await proc.exitedWithin();
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain(`settings: url ${fake.url} (env), token (env), pool workspace (flag)`);
    expect(result.stdout).toMatch(/runner started: labels as registered, .*ephemeral \(1 job\)/);
    expect(fake.job(id).result).toMatchObject({ status: "succeeded" });
    expect(fake.logText(id, ["hello"])).toBe("from env\n");
  });

  it("flags win over the environment, the environment over the file", async () => {
    const config = await register();
    const written = JSON.parse(await readFile(config, "utf8"));
    // The file's URL is dead; SPARKI_URL (a moved control plane) wins over it, --url over both.
    await writeFile(config, JSON.stringify({ ...written, url: "http://127.0.0.1:9/" }));
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "one", command: "true" }]));
    const viaEnv = await runner(["run", "--ephemeral", "--no-sandbox", "--config", config, "--work-dir", join(home, "work")], {
      SPARKI_URL: fake.url,
      SPARKI_RUNNER_POOL: "workspace",
    }).exited;
    expect(viaEnv).toMatchObject({ code: 0, stderr: "" });
    expect(viaEnv.stdout).toContain(`settings: url ${fake.url} (env), token (file), pool workspace (env)`);
    expect(fake.job(id).result).toMatchObject({ status: "succeeded" });
    // A wrong token from the environment, the right one on the command line: the flag wins.
    const second = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "two", command: "true" }]));
    const viaFlag = await runner(
      ["run", "--ephemeral", "--no-sandbox", "--config", config, "--url", fake.url, "--token", written.runnerToken, "--work-dir", join(home, "work")],
      { SPARKI_URL: "http://127.0.0.1:9/", SPARKI_RUNNER_TOKEN: "srn_wrong", SPARKI_RUNNER_POOL: "workspace" },
    ).exited;
    expect(viaFlag).toMatchObject({ code: 0, stderr: "" });
    expect(viaFlag.stdout).toContain(`settings: url ${fake.url} (flag), token (flag), pool workspace (env)`);
    expect(fake.job(second).result).toMatchObject({ status: "succeeded" });
  });

  it("says which setting is missing or wrong, in one line", async () => {
    const none = await runner(["run"], { SPARKI_URL: fake.url }).exited;
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /^sparki-runner: no runner config at .*config\.json, and SPARKI_RUNNER_TOKEN not set; .*set SPARKI_URL and SPARKI_RUNNER_TOKEN\n$/,
    );
    const badUrl = await runner(["run"], { SPARKI_URL: "ftp://example.com", SPARKI_RUNNER_TOKEN: "srn_x" }).exited;
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toBe('sparki-runner: SPARKI_URL: "ftp://example.com" is not an http(s) URL of the control plane\n');
    const regToken = await runner(["run"], { SPARKI_URL: fake.url, SPARKI_RUNNER_TOKEN: "srg_abc" }).exited;
    expect(regToken.code).toBe(1);
    expect(regToken.stderr).toContain("SPARKI_RUNNER_TOKEN holds a registration token");
    const badPool = await runner(["run", "--pool", "mine"], { SPARKI_URL: fake.url, SPARKI_RUNNER_TOKEN: "srn_x" }).exited;
    expect(badPool.stderr).toBe('sparki-runner: --pool must be "shared" or "workspace" (got "mine")\n');
    const named = await runner(["run", "--config", join(home, "absent.json")], { SPARKI_URL: fake.url, SPARKI_RUNNER_TOKEN: "srn_x" }).exited;
    expect(named.code).toBe(1);
    expect(named.stderr).toContain("no runner config at");
    const both = await runner(["run", "--ephemeral", "--concurrency", "2"], { SPARKI_URL: fake.url, SPARKI_RUNNER_TOKEN: "srn_x" }).exited;
    expect(both.stderr).toBe("sparki-runner: --ephemeral takes exactly one job; leave out --concurrency\n");
  });

  it("--ephemeral takes one job, reports it and exits 0 while the next job stays queued", async () => {
    const config = await register();
    // The step fails: the runner did its part (ran and reported it), so it still exits 0.
    const first = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "first", command: "echo one; exit 3" }]));
    const second = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "second", command: "echo two" }]));
    const result = await runner(["run", "--ephemeral", "--config", config, "--work-dir", join(home, "work")]).exited;
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(fake.job(first).result).toMatchObject({ status: "failed", exitCode: 3 });
    expect(result.stdout).toContain(`ephemeral: job ${first} reported failed; exiting`);
    expect(fake.job(second).state).toMatchObject({ status: "queued", attempt: 0 });
    expect(fake.job(second).result).toBeNull();
    expect(result.stdout).not.toContain(second);
  });

  it("--ephemeral exits 75 when its job is handed back on shutdown, and the job goes back to the queue", async () => {
    const config = await register();
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "long", command: "echo started; sleep 6012" }]));
    const proc = runner(["run", "--ephemeral", "--config", config, "--work-dir", join(home, "work"), "--grace-period", "1"]);
    await fake.waitFor(id, (j) => j.log.some((l) => l.text === "started"));
    proc.child.kill("SIGTERM");
    const result = await proc.exited;
    expect(result.code).toBe(75);
    expect(result.stderr).toBe(
      `sparki-runner: ephemeral: job ${id} was not run to its end here (handed back on shutdown); the control plane queues it again\n`,
    );
    expect(fake.job(id).state).toMatchObject({ status: "queued", leaseId: null });
  });
});
