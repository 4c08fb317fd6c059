/**
 * The by-hand baseline of bench/cache and bench/realworld: a person's commands in a fresh copy of
 * the project with a home of its own, once with an empty ~/.npm and once with it warm (and
 * node_modules removed between, as a new checkout has none).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Milliseconds the commands took, cold then warm. `fill` writes the project into `src`. */
export async function coldAndWarm(name: string, fill: (src: string) => void, commands: readonly string[]): Promise<{ cold: number; warm: number }> {
  const dir = mkdtempSync(join(tmpdir(), `sparki-bench-${name}-hand-`));
  try {
    const home = join(dir, "home");
    const src = join(dir, "src");
    mkdirSync(home);
    fill(src);
    const env = { ...process.env, HOME: home, npm_config_cache: join(home, ".npm"), CI: "true" };
    const once = async () => {
      rmSync(join(src, "node_modules"), { recursive: true, force: true });
      const started = performance.now();
      for (const command of commands) await run("sh", ["-c", command], { cwd: src, env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
      return performance.now() - started;
    };
    const cold = await once();
    const warm = await once();
    return { cold, warm };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
