import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockStateDir, StateLockedError } from "./state-lock.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sparki-lock-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pid no process has: a child that ran and was reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "0"]);
  await new Promise((done) => child.once("exit", done));
  return child.pid as number;
}

describe("lockStateDir", () => {
  it("takes a free directory, refuses a second taker while held, and frees it on release", () => {
    const lock = lockStateDir(dir);
    expect(readFileSync(lock.file, "utf8").trim()).toBe(String(process.pid));
    expect(() => lockStateDir(dir)).toThrow(StateLockedError);
    expect(() => lockStateDir(dir)).toThrow(`another local stack (pid ${process.pid}) is already running from ${dir}`);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
    lockStateDir(dir).release();
  });

  it("takes over a lock whose process is gone, and an unreadable one", async () => {
    const file = join(dir, "stack.pid");
    writeFileSync(file, `${await deadPid()}\n`);
    const lock = lockStateDir(dir);
    expect(readFileSync(file, "utf8").trim()).toBe(String(process.pid));
    lock.release();
    writeFileSync(file, "not a pid");
    lockStateDir(dir).release();
  });

  it("takes over a lock whose pid is now another program's (a reboot reused it)", async () => {
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      await new Promise((done) => other.once("spawn", done));
      writeFileSync(join(dir, "stack.pid"), `${other.pid}\n`);
      lockStateDir(dir).release();
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("leaves a lock another process took meanwhile when releasing", () => {
    const lock = lockStateDir(dir);
    writeFileSync(lock.file, "1\n");
    lock.release();
    expect(readFileSync(lock.file, "utf8")).toBe("1\n");
  });
});

describe("npm run dev", () => {
  it("refuses with one line when another stack runs from the same state directory", async () => {
    // A live process that is not this one holds the lock.
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      writeFileSync(join(dir, "stack.pid"), `${holder.pid}\n`);
      const dev = spawn(process.execPath, ["--import", "tsx", "dev/start.ts"], {
        env: { ...process.env, SPARKI_DEV_STATE_DIR: dir },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      dev.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((done) => dev.once("exit", done));
      expect(code).toBe(1);
      expect(stderr.trim().split("\n")).toEqual([
        `[sparki] could not start: another local stack (pid ${holder.pid}) is already running from ${dir}; use that one, or stop it first (Ctrl-C in its terminal, or kill ${holder.pid})`,
      ]);
      // Nothing of the first stack's state was touched.
      expect(existsSync(join(dir, "dev-secrets.json"))).toBe(false);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
