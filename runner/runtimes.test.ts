/**
 * Discovery on real folders laid out as each version manager lays them out (made in a temp
 * folder, pointed at through the variables that move their roots), and real executables on PATH.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeRuntimes, discoverRuntimes, installFor, jobRuntime, runtimeLabels, runtimeSetup, versionOfName } from "./runtimes.ts";

const root = mkdtempSync(join(tmpdir(), "sparki-runtimes-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An executable script at `path` (its folders made). */
function exe(path: string, body = "#!/bin/sh\nexit 0\n"): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, body);
  chmodSync(path, 0o755);
}

describe("runtime discovery", () => {
  it("reads version names the way each manager writes them", () => {
    expect(versionOfName("v22.11.0")).toBe("22.11.0");
    expect(versionOfName("3.12.4")).toBe("3.12.4");
    expect(versionOfName("3.13.0rc1")).toBe("3.13.0");
    expect(versionOfName("1.79.0-x86_64-unknown-linux-gnu")).toBe("1.79.0");
    expect(versionOfName("go1.22.5")).toBe("1.22.5");
    for (const other of ["stable-x86_64-unknown-linux-gnu", "pypy3.10-7.3.16", "miniconda3-latest", "system", "22"]) expect(versionOfName(other)).toBeNull();
  });

  it("finds every manager's installs under the roots the environment names", async () => {
    const home = join(root, "home");
    const env = {
      HOME: home,
      NVM_DIR: join(root, "nvm"),
      FNM_DIR: join(root, "fnm"),
      VOLTA_HOME: join(root, "volta"),
      ASDF_DATA_DIR: join(root, "asdf"),
      MISE_DATA_DIR: join(root, "mise"),
      PYENV_ROOT: join(root, "pyenv"),
      GOENV_ROOT: join(root, "goenv"),
      RUSTUP_HOME: join(root, "rustup"),
      GOROOT: join(root, "go"),
      PATH: "",
    };
    exe(join(root, "nvm/versions/node/v18.19.0/bin/node"));
    exe(join(root, "nvm/versions/node/v22.11.0/bin/node"));
    exe(join(root, "fnm/node-versions/v20.18.1/installation/bin/node"));
    exe(join(root, "volta/tools/image/node/16.20.2/bin/node"));
    exe(join(root, "asdf/installs/nodejs/21.7.3/bin/node"));
    exe(join(root, "asdf/installs/golang/1.21.13/go/bin/go"));
    exe(join(root, "mise/installs/python/3.11.9/bin/python3"));
    exe(join(root, "pyenv/versions/3.12.4/bin/python3"));
    exe(join(root, "goenv/versions/1.22.5/bin/go"));
    exe(join(root, "rustup/toolchains/1.79.0-x86_64-unknown-linux-gnu/bin/rustc"));
    exe(join(root, "go/bin/go"));
    writeFileSync(join(root, "go/VERSION"), "go1.23.4\ntime 2024-12-03T17:07:19Z\n");
    // Not installs: a folder with no binary, an alias, a non-numeric toolchain, a file.
    mkdirSync(join(root, "nvm/versions/node/v19.0.0/bin"), { recursive: true });
    mkdirSync(join(root, "pyenv/versions/miniconda3-latest/bin"), { recursive: true });
    exe(join(root, "rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc"));
    writeFileSync(join(root, "nvm/versions/node/v17.0.0"), "");

    const found = await discoverRuntimes({ env, home });
    expect(runtimeLabels(found)).toEqual([
      "go-1.21",
      "go-1.22",
      "go-1.23",
      "node-16",
      "node-18",
      "node-20",
      "node-21",
      "node-22",
      "python-3.11",
      "python-3.12",
      "rust-1.79",
    ]);
    const nvm18 = found.find((f) => f.label === "node-18");
    expect(nvm18).toEqual({
      name: "node",
      version: "18.19.0",
      label: "node-18",
      bin: join(root, "nvm/versions/node/v18.19.0/bin"),
      root: join(root, "nvm/versions/node/v18.19.0"),
      source: "nvm",
    });
    expect(found.find((f) => f.label === "node-20")?.bin).toBe(join(root, "fnm/node-versions/v20.18.1/installation/bin"));
    expect(found.find((f) => f.label === "go-1.21")?.bin).toBe(join(root, "asdf/installs/golang/1.21.13/go/bin"));
    expect(found.find((f) => f.label === "go-1.23")?.source).toBe("GOROOT");
    expect(describeRuntimes(found)).toContain("node-18 (18.19.0, nvm)");
  });

  it("defaults to the folders under HOME when no variable moves them", async () => {
    const home = join(root, "home2");
    exe(join(home, ".nvm/versions/node/v20.1.0/bin/node"));
    exe(join(home, ".pyenv/versions/3.10.14/bin/python3"));
    exe(join(home, ".local/share/mise/installs/node/23.3.0/bin/node"));
    const found = await discoverRuntimes({ env: { HOME: home, PATH: "", GOROOT: join(root, "none") }, home });
    expect(runtimeLabels(found)).toEqual(["node-20", "node-23", "python-3.10"]);
  });

  it("asks the first of each runtime on PATH for its version", async () => {
    const bin = join(root, "path-bin");
    exe(join(bin, "node"), "#!/bin/sh\necho v24.1.0\n");
    exe(join(bin, "python3"), "#!/bin/sh\necho Python 3.13.1\n");
    exe(join(bin, "go"), "#!/bin/sh\necho go version go1.24.0 linux/amd64\n");
    exe(join(bin, "rustc"), "#!/bin/sh\necho 'rustc 1.83.0 (90b35a623 2024-11-26)'\n");
    exe(join(root, "later-bin/node"), "#!/bin/sh\necho v10.0.0\n");
    const home = join(root, "empty-home");
    const found = await discoverRuntimes({ env: { HOME: home, PATH: `relative/bin:${bin}:${join(root, "later-bin")}`, GOROOT: join(root, "none") }, home });
    expect(found.map((f) => [f.label, f.version, f.source, f.bin])).toEqual([
      ["node-24", "24.1.0", "PATH", bin],
      ["python-3.13", "3.13.1", "PATH", bin],
      ["go-1.24", "1.24.0", "PATH", bin],
      ["rust-1.83", "1.83.0", "PATH", bin],
    ]);
  });

  it("reports at most the protocol's number of labels, each runtime keeping its newest", () => {
    const install = (name: "node" | "python", version: string) => ({ name, version, label: `${name}-${version}`, bin: "/x", root: "/x", source: "nvm" });
    const many = [
      ...Array.from({ length: 10 }, (_, i) => install("node", String(i + 10))),
      ...Array.from({ length: 3 }, (_, i) => install("python", `3.${i + 10}`)),
    ];
    expect(runtimeLabels(many, 5)).toEqual(["node-18", "node-19", "python-3.11", "python-3.12", "node-17"].sort());
    expect(runtimeLabels(many)).toHaveLength(13);
  });

  it("a job runs with the newest install of its label, and fails on a runner without one", async () => {
    const home = join(root, "pick");
    exe(join(home, ".nvm/versions/node/v18.2.0/bin/node"));
    exe(join(home, ".nvm/versions/node/v18.19.0/bin/node"));
    exe(join(home, ".nvm/versions/node/v20.0.0/bin/node"));
    const found = await discoverRuntimes({ env: { HOME: home, PATH: "", GOROOT: join(root, "none") }, home });
    expect(installFor(found, { name: "node", version: "18" })?.version).toBe("18.19.0");
    expect(jobRuntime(undefined, found)).toEqual({ ok: true, install: null });
    expect(jobRuntime({ name: "node", version: "16" }, found)).toEqual({
      ok: false,
      error: "this runner has no node-16 (it has node-18, node-20); restart it after installing one",
    });

    const notes: string[] = [];
    const log = { note: (line: string) => notes.push(line) };
    const setup = runtimeSetup({ kind: "steps", runtime: { name: "node", version: "18" } }, found, log, { PATH: "/usr/bin" });
    const bin = join(home, ".nvm/versions/node/v18.19.0/bin");
    expect(setup).toEqual({ error: null, pathFirst: bin, readOnly: [join(home, ".nvm/versions/node/v18.19.0"), bin], env: { PATH: `${bin}:/usr/bin` } });
    expect(notes).toEqual([`sparki: runtime node-18: 18.19.0 from nvm, ${bin} first on PATH`]);
    expect(runtimeSetup({ kind: "plan", runtime: { name: "node", version: "16" } }, found, log).error).toBeNull();
    expect(runtimeSetup({ kind: "steps", runtime: { name: "python", version: "3.12" } }, found, log).error).toMatch(/no python-3\.12 \(it has no python\)/);
  });
});
