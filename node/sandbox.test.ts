import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  decideSandbox,
  hiddenPaths,
  isLoopbackUrl,
  probeSandbox,
  type Sandbox,
  sandboxArgv,
  sandboxBaseEnv,
  sandboxCommand,
  sandboxEnvArgs,
  type StepNetwork,
  stepNetworkArgs,
} from "./sandbox.ts";

const sh = ["/bin/sh", "-c", "echo hi"];

describe("sandboxArgv", () => {
  it("namespaces, read-only host, fresh /proc and /dev, private /tmp, no capabilities, dies with the runner", () => {
    const argv = sandboxArgv({ sandbox: { bwrap: "bwrap", hidden: [] }, jobDir: "/srv/work/job-1" }, "/srv/work/job-1/src", sh);
    expect(argv).toEqual([
      "--args",
      "3",
      "--die-with-parent",
      "--unshare-pid",
      "--unshare-ipc",
      "--cap-drop",
      "ALL",
      "--ro-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--tmpfs",
      "/tmp",
      "--bind",
      "/srv/work/job-1",
      "/srv/work/job-1",
      "--chdir",
      "/srv/work/job-1/src",
      "--",
      ...sh,
    ]);
    expect(argv).not.toContain("--share-net");
    expect(argv).not.toContain("--unshare-net");
  });

  it("hides folders under tmpfs and files under /dev/null before the job folder is bound back", () => {
    const sandbox: Sandbox = {
      bwrap: "bwrap",
      hidden: [
        { path: "/home/ci/.sparki-runner/work", kind: "dir" },
        { path: "/home/ci/.sparki-runner", kind: "dir" },
        { path: "/etc/sparki-runner.json", kind: "file" },
      ],
    };
    const argv = sandboxArgv({ sandbox, jobDir: "/home/ci/.sparki-runner/work/job-7" }, "/home/ci/.sparki-runner/work/job-7/src", sh);
    const mounts = argv.slice(argv.indexOf("/tmp") + 1, argv.indexOf("--chdir"));
    expect(mounts).toEqual([
      // The work root lies inside the hidden config folder: covered by it, left out.
      "--tmpfs",
      "/home/ci/.sparki-runner",
      "--ro-bind",
      "/dev/null",
      "/etc/sparki-runner.json",
      "--bind",
      "/home/ci/.sparki-runner/work/job-7",
      "/home/ci/.sparki-runner/work/job-7",
      "--remount-ro",
      "/home/ci/.sparki-runner",
    ]);
  });

  it("leaves out what the private /tmp already hides, and never mounts over /", () => {
    const argv = sandboxArgv(
      {
        sandbox: {
          bwrap: "bwrap",
          hidden: [
            { path: "/tmp/sparki-work-x", kind: "dir" },
            { path: "/tmp/runner.json", kind: "file" },
            { path: "/", kind: "dir" },
          ],
        },
        jobDir: "/tmp/sparki-work-x/job-1",
      },
      "/tmp/sparki-work-x/job-1/src",
      sh,
    );
    expect(argv.filter((a) => a === "--tmpfs")).toHaveLength(1);
    expect(argv).not.toContain("/dev/null");
    expect(argv.slice(-9, -6)).toEqual(["--bind", "/tmp/sparki-work-x/job-1", "/tmp/sparki-work-x/job-1"]);
  });
});

describe("hiddenPaths", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "runner-hide-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("hides the work root, and the config's folder when it is a Sparki folder of its own", () => {
    const own = join(root, ".sparki");
    mkdirSync(join(own, "runner-work"), { recursive: true });
    writeFileSync(join(own, "runner.json"), "{}");
    writeFileSync(join(own, "worker.env"), "SECRET=1");
    expect(hiddenPaths({ configPath: join(own, "runner.json"), workDir: join(own, "runner-work") })).toEqual([
      { path: join(own, "runner-work"), kind: "dir" },
      { path: own, kind: "dir" },
      { path: join(own, "runner.json"), kind: "file" },
    ]);
  });

  it("hides only the file when the config lives in a shared folder, resolving symlinks, skipping what does not exist", () => {
    const shared = join(root, "etc");
    mkdirSync(shared);
    writeFileSync(join(shared, "runner.json"), "{}");
    symlinkSync(join(shared, "runner.json"), join(root, "link.json"));
    expect(hiddenPaths({ configPath: join(root, "link.json"), workDir: join(root, "missing"), extra: [join(root, "nope")] })).toEqual([
      { path: join(shared, "runner.json"), kind: "file" },
    ]);
  });
});

describe("sandboxCommand", () => {
  const network: StepNetwork = { slirp4netns: "/usr/bin/slirp4netns", resolvConf: "/w/resolv.conf", unshare: "/usr/bin/unshare", asUser: null };

  it("runs bwrap itself on the host's network, and under unshare --net on a network of the step's own", () => {
    expect(sandboxCommand({ bwrap: "/usr/bin/bwrap", hidden: [] }, ["--x"])).toEqual(["/usr/bin/bwrap", ["--x"]]);
    expect(sandboxCommand({ bwrap: "/usr/bin/bwrap", hidden: [], network }, ["--x"])).toEqual(["/usr/bin/unshare", ["--net", "--", "/usr/bin/bwrap", "--x"]]);
    expect(stepNetworkArgs(network)).not.toContain("--unshare-net");
  });

  it("for a runner without root, makes the user namespace too and gives the step the runner's ids back", () => {
    const asUser = { ...network, asUser: { nsenter: "/usr/bin/nsenter", uid: 1000, gid: 1001 } };
    expect(sandboxCommand({ bwrap: "/usr/bin/bwrap", hidden: [], network: asUser }, ["--x"])).toEqual([
      "/usr/bin/unshare",
      ["--user", "--map-root-user", "--net", "--", "/usr/bin/bwrap", "--x"],
    ]);
    expect(stepNetworkArgs(asUser).join(" ")).toContain("--unshare-user --uid 1000 --gid 1001");
  });
});

describe("sandboxBaseEnv", () => {
  it("keeps PATH's absolute entries and nothing else of the runner's environment", () => {
    const env = sandboxBaseEnv("/w/job-1", {
      PATH: ".:/usr/bin::bin:/opt/node/bin",
      HOME: "/root",
      SPARKI_RUNNER_TOKEN: "srn_x",
      AWS_SECRET_ACCESS_KEY: "k",
      LANG: "de_DE.UTF-8",
    });
    expect(env).toEqual({ PATH: "/usr/bin:/opt/node/bin", HOME: "/w/job-1/home", LANG: "de_DE.UTF-8", TMPDIR: "/tmp" });
  });

  it("leaves out what npm run and npx put in front of the runner (node_modules/.bin, node-gyp-bin)", () => {
    const npmRunPath = [
      "/home/u/sparki/node_modules/.bin",
      "/home/u/node_modules/.bin",
      "/node_modules/.bin",
      "/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin",
      "/usr/local/bin",
      "/opt/node_modules/.binaries",
      "/usr/bin",
    ].join(":");
    expect(sandboxBaseEnv("/w/j", { PATH: npmRunPath }).PATH).toBe("/usr/local/bin:/opt/node_modules/.binaries:/usr/bin");
  });

  it("falls back to a standard PATH and C.UTF-8", () => {
    expect(sandboxBaseEnv("/w/j", {})).toMatchObject({ PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" });
  });
});

describe("sandboxEnvArgs", () => {
  it("clears bwrap's environment and sets the step's, NUL-separated; a NUL cannot smuggle in an option", () => {
    const args = sandboxEnvArgs({ A: "1", SECRET: "s p a c e", BAD: "x\0--bind\0/\0/", UNSET: undefined });
    expect(args.toString().split("\0")).toEqual(["--clearenv", "--setenv", "A", "1", "--setenv", "SECRET", "s p a c e", ""]);
  });
});

describe("decideSandbox", () => {
  const ok = { ok: true, bwrap: "/usr/bin/bwrap" } as const;
  const broken = { ok: false, reason: "bwrap was not found on PATH" } as const;

  it("sandboxes whenever bwrap works and nobody opted out", () => {
    for (const pool of ["shared", "workspace", undefined] as const)
      expect(decideSandbox({ probe: ok, noSandbox: false, pool, localControlPlane: false }).mode).toBe("sandbox");
  });

  it("refuses a shared-pool runner without a working bwrap, saying why", () => {
    const d = decideSandbox({ probe: broken, noSandbox: false, pool: "shared", localControlPlane: true });
    expect(d).toEqual({ mode: "refuse", reason: expect.stringContaining("bwrap was not found on PATH") });
    expect(d.mode === "refuse" && d.reason).toMatch(/refuses to run other workspaces' code unsandboxed/);
    // A config without a pool counts as shared.
    expect(decideSandbox({ probe: broken, noSandbox: false, pool: undefined, localControlPlane: false }).mode).toBe("refuse");
  });

  it("refuses a workspace runner without bwrap unless --no-sandbox says so", () => {
    expect(decideSandbox({ probe: broken, noSandbox: false, pool: "workspace", localControlPlane: false })).toEqual({
      mode: "refuse",
      reason: expect.stringContaining("--no-sandbox"),
    });
    expect(decideSandbox({ probe: broken, noSandbox: true, pool: "workspace", localControlPlane: false }).mode).toBe("none");
  });

  it("--no-sandbox on the shared pool: refused, unless the control plane is on this machine (a dev stack)", () => {
    expect(decideSandbox({ probe: ok, noSandbox: true, pool: "shared", localControlPlane: false })).toEqual({
      mode: "refuse",
      reason: expect.stringContaining("--no-sandbox is refused"),
    });
    expect(decideSandbox({ probe: ok, noSandbox: true, pool: undefined, localControlPlane: false }).mode).toBe("refuse");
    expect(decideSandbox({ probe: broken, noSandbox: true, pool: "shared", localControlPlane: true })).toEqual({
      mode: "none",
      note: expect.stringContaining("development stack"),
    });
  });
});

describe("isLoopbackUrl", () => {
  it("knows this machine's addresses", () => {
    for (const url of ["http://127.0.0.1:8787", "http://localhost:1", "http://[::1]:9/", "http://app.localhost"]) expect(isLoopbackUrl(url), url).toBe(true);
    for (const url of ["https://sparki.example.com", "http://10.0.0.1", "http://127.0.0.1.nip.io", "not a url"]) expect(isLoopbackUrl(url), url).toBe(false);
  });
});

describe("probeSandbox", () => {
  it("runs bwrap for real on Linux", async () => {
    expect(await probeSandbox()).toEqual({ ok: true, bwrap: "/usr/bin/bwrap" });
  });

  it("says what is missing, and that other systems have no bwrap", async () => {
    expect(await probeSandbox("/nonexistent/bwrap")).toEqual({ ok: false, reason: expect.stringContaining("apt-get install bubblewrap") });
    expect(await probeSandbox("bwrap", "darwin")).toEqual({ ok: false, reason: expect.stringContaining("Linux-only (this host is darwin)") });
  });
});
