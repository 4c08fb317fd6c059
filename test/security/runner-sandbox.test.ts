/**
 * Attack: a build step on a shared-pool runner hunts for the runner's token, as one did
 * before the sandbox (issue #11): the runner's argv through /proc/$PPID/cmdline, every
 * process's cmdline and environ, its own environment, the runner's config file (its path is
 * given to the step here only so the test can show it is unreadable), the work root for other
 * jobs' checkouts, and writes outside its checkout and /tmp. A real `sparki-runner` process
 * (runner/bin.js, as runner/cli.test.ts starts it) against the fake control plane, its config
 * under $HOME where the default (~/.sparki-runner) puts it, and its work root under $HOME too, in
 * a folder of its own (a work root with a dot segment is refused; under /tmp it would be hidden
 * by the sandbox's private /tmp anyway, which would not test hiding it). Each attack runs on a
 * runner started as the test is (root here) and on one without root (as on a laptop): nobody in a
 * user namespace of its own, with no capability on the host, so the sandbox and the step's
 * network are all its own making.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeControlPlane } from "../../runner/testing/fake-control-plane.ts";
import { createRepo, jobSpec } from "../../runner/testing/harness.ts";
import { reachCommand } from "../reach.ts";
import { until } from "../until.ts";
import { runnerBundleBin } from "../../dev/bins.ts";

const BIN = runnerBundleBin;
const hostSecret = `runner-env-secret-${crypto.randomUUID()}`;
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** How each runner under attack is started: the argv its command goes after. */
const RUNNERS = [
  { label: "on a runner started as the test is", launcher: [] as string[], skip: false },
  // Run as anyone but root, the test's own runner is already one without root.
  { label: "on a runner without root", launcher: ["unshare", "--user", `--map-user=${NOBODY}`, `--map-group=${NOBODY}`, "--"], skip: !asRoot },
];

for (const { label, launcher, skip } of RUNNERS)
  describe.skipIf(skip)(label, () => {
    let fake: FakeControlPlane;
    let repo: Awaited<ReturnType<typeof createRepo>>;
    let home: string;
    let config: string;
    let work: string;
    let token: string;
    let runner: ChildProcess;
    let runnerOut = "";

    beforeAll(async () => {
      fake = await FakeControlPlane.start({ claimWaitMs: 300 });
      repo = await createRepo([{ "README.md": "victim and attacker share this repository\n" }]);
      home = mkdtempSync(join(homedir(), ".sparki-runner-security-"));
      config = join(home, "config.json");
      work = mkdtempSync(join(homedir(), "sparki-runner-security-work-"));
      const register = spawn(
        process.execPath,
        [BIN, "register", "--url", fake.url, "--token", fake.registrationToken, "--name", "shared-box", "--labels", "linux", "--config", config],
        { stdio: "ignore" },
      );
      expect(await new Promise((resolve) => register.once("exit", resolve))).toBe(0);
      token = (JSON.parse(readFileSync(config, "utf8")) as { runnerToken: string }).runnerToken;
      expect(token.length).toBeGreaterThan(8);
      const argv = [...launcher, process.execPath, BIN, "run", "--config", config, "--work-dir", work, "--concurrency", "2"];
      runner = spawn(argv[0] as string, argv.slice(1), {
        env: { ...process.env, RUNNER_HOST_SECRET: hostSecret },
        stdio: ["ignore", "pipe", "pipe"],
      });
      runner.stdout?.on("data", (d: Buffer) => (runnerOut += d.toString()));
      runner.stderr?.on("data", (d: Buffer) => (runnerOut += d.toString()));
      await waitFor("the runner to start", () => runnerOut.includes("runner started"), 30_000);
      expect(runnerOut).toContain("sandbox on (bubblewrap)");
      expect(runnerOut).toContain("steps' network: one of each step's own");
    }, 60_000);

    afterAll(async () => {
      if (runner && runner.exitCode === null) {
        runner.kill("SIGTERM");
        runner.kill("SIGTERM");
        // Bounded: a runner that does not stop is killed below all the same.
        await until("the runner to exit", () => runner.exitCode !== null || runner.signalCode !== null, 10_000).catch(() => undefined);
        runner.kill("SIGKILL");
      }
      await fake?.close();
      await repo?.cleanup();
      if (home) rmSync(home, { recursive: true, force: true });
      if (work) rmSync(work, { recursive: true, force: true });
    }, 30_000);

    /** Waits for `probe` (30 s at most), showing the runner's output if it never holds. */
    const waitFor = (what: string, probe: () => boolean, ms = 30_000) => until(what, probe, ms, { diagnostics: () => runnerOut.slice(-3000) });

    const sha = () => repo.shas[0] as string;
    const logOf = (id: string) => fake.job(id).log.map((l) => l.text);

    const hunt = () => `echo "== /proc/$PPID/cmdline (the step's parent)"
tr '\\0' ' ' < /proc/$PPID/cmdline; echo
echo "== every process"
for p in /proc/[0-9]*; do
  echo "$p: $(tr '\\0' ' ' < $p/cmdline 2>/dev/null)"
  tr '\\0' '\\n' < $p/environ 2>/dev/null
done
echo "== environment"; env
echo "== the runner's config"; cat "${config}" 2>&1; grep -rs srn_ "${home}" 2>&1
echo "== the work root"; ls -la "${work}" 2>&1; ls -R "${work}" 2>&1 | head -100
echo "== writes"
for target in "${home}/pwned" "${work}/pwned" "${homedir()}/pwned" /etc/pwned /usr/local/bin/pwned /var/tmp/pwned; do
  if (echo pwned > "$target") 2>/dev/null; then echo "WROTE $target"; else echo "refused $target"; fi
done
echo pwned > /tmp/pwned && echo "private tmp: writable"
echo pwned > ./pwned && echo "checkout: writable"
echo "== done"`;

    describe("a step on a shared runner hunting for the runner's token", () => {
      it("finds neither the token nor the runner's environment nor another job's checkout, and cannot write outside its own", async () => {
        const victim = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "victim", command: "echo victim-checkout-data > victim.txt; echo ready; sleep 60" }]));
        await fake.waitFor(victim, (j) => logOf(j.id).includes("ready"), 30_000);
        // The work root also holds the runner's resolv.conf for steps' own networks (node/step-network.ts).
        const victimDirs = readdirSync(work).filter((name) => name !== "resolv.conf");
        expect(victimDirs).toHaveLength(1);

        const attacker = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "hunt", command: hunt() }]));
        const done = await fake.waitFor(attacker, (j) => j.result !== null, 60_000);
        fake.cancel(victim);
        const text = fake.logText(attacker);
        expect(done.result?.status, text).toBe("succeeded");
        expect(text).toContain("== done");

        expect(text).not.toContain(token);
        expect(text).not.toContain(hostSecret);
        expect(text).not.toContain("victim-checkout-data");
        for (const dir of victimDirs) expect(text).not.toContain(dir);
        // The step's parent is bwrap's init inside the sandbox, not the runner.
        expect(text).not.toContain(`${BIN} run`);
        expect(text.match(/^refused /gm)).toHaveLength(6);
        expect(text).not.toMatch(/^WROTE /m);
        expect(text).toContain("private tmp: writable\ncheckout: writable\n");
        for (const path of [
          join(home, "pwned"),
          join(work, "pwned"),
          join(homedir(), "pwned"),
          "/etc/pwned",
          "/usr/local/bin/pwned",
          "/var/tmp/pwned",
          "/tmp/pwned",
        ])
          expect(existsSync(path), path).toBe(false);
        // The config is still there for the runner itself.
        expect(readFileSync(config, "utf8")).toContain(token);
      }, 120_000);
    });

    describe("two jobs at once on one runner", () => {
      it("cannot see each other's checkout", async () => {
        const search = `echo "mark-$ME" > "mark-$ME.txt"
i=0
while true; do
  i=$((i+1))
  found=$(find "${work}" "${home}" /tmp -maxdepth 5 -name "mark-$OTHER.txt" 2>/dev/null | wc -l)
  cat ../../*/src/"mark-$OTHER.txt" 2>/dev/null
  echo "pass $i found $found"
  sleep 0.1
done`;
        const a = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "search", command: search, env: { ME: "a", OTHER: "b" } }]));
        const b = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "search", command: search, env: { ME: "b", OTHER: "a" } }]));
        const passes = (id: string) => logOf(id).filter((l) => l.startsWith("pass ")).length;
        await waitFor("both jobs searching", () => passes(a) > 0 && passes(b) > 0, 60_000);
        // From here both run: each searches at least three more times while the other's mark exists.
        const [fromA, fromB] = [passes(a), passes(b)];
        await waitFor("three more searches by each", () => passes(a) >= fromA + 3 && passes(b) >= fromB + 3, 60_000);
        fake.cancel(a);
        fake.cancel(b);
        for (const [id, other] of [
          [a, "b"],
          [b, "a"],
        ] as const) {
          const lines = logOf(id).filter((l) => l.startsWith("pass ") || l.startsWith("mark-"));
          expect(lines.length).toBeGreaterThan(3);
          expect(
            lines.every((l) => /^pass \d+ found 0$/.test(l)),
            lines.join("\n"),
          ).toBe(true);
          expect(logOf(id)).not.toContain(`mark-${other}`);
        }
        await fake.waitFor(a, (j) => j.result !== null, 20_000);
        await fake.waitFor(b, (j) => j.result !== null, 20_000);
      }, 150_000);
    });

    describe("a step reaching for this host's loopback services", () => {
      it("connects to none of them: not the control plane, not a database, by no loopback name", async () => {
        // Stands for what a development stack keeps on loopback: its Postgres, wrangler's inspector.
        let accepted = 0;
        const database = createServer((socket) => {
          accepted++;
          socket.end();
        });
        await new Promise<void>((resolve) => database.listen(0, "127.0.0.1", resolve));
        const dbPort = (database.address() as { port: number }).port;
        const controlPlanePort = new URL(fake.url).port;
        try {
          const targets = [`127.0.0.1:${dbPort}`, `10.0.2.2:${dbPort}`, `localhost:${dbPort}`, `127.0.0.2:${dbPort}`, `127.0.0.1:${controlPlanePort}`];
          const connect = reachCommand(targets);
          const id = fake.enqueue(jobSpec(repo.dir, sha(), [{ id: "reach", command: connect }]));
          const done = await fake.waitFor(id, (j) => j.result !== null, 60_000);
          const text = fake.logText(id);
          expect(done.result?.status, text).toBe("succeeded");
          for (const target of targets) expect(logOf(id), text).toContain(`REFUSED ${target}`);
          expect(text).not.toContain("REACHED");
          expect(accepted).toBe(0);
        } finally {
          await new Promise((resolve) => database.close(resolve));
        }
      }, 90_000);
    });
  });
