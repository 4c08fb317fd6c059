/**
 * The environment part of a cache key: OS, architecture and the version of the runtime the
 * job's package manager runs on, asked from a fixed table of commands (a job names a runtime,
 * never a command), so an entry made under Node 20 is not restored under Node 22.
 */
import { execFile } from "node:child_process";
import { arch, platform } from "node:os";
import { cacheEnvironment } from "../core/pipeline/cache.ts";

const VERSION_COMMANDS: Readonly<Record<string, readonly [string, ...string[]]>> = {
  node: ["node", "--version"],
  bun: ["bun", "--version"],
  deno: ["deno", "--version"],
  python: ["python3", "--version"],
  ruby: ["ruby", "--version"],
  go: ["go", "version"],
  rust: ["rustc", "--version"],
  java: ["java", "-version"],
  dotnet: ["dotnet", "--version"],
  php: ["php", "--version"],
  elixir: ["elixir", "--version"],
};

/** `node22.11.0`, or `node-none` when the runtime is not on PATH (the key still works, per runner). */
export function runtimeVersion(runtime: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const command = VERSION_COMMANDS[runtime];
  if (!command) return Promise.resolve(runtime);
  const [file, ...args] = command;
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 10_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      // `java -version` answers on stderr; Elixir prints Erlang's banner first.
      const match = /(\d+\.\d+(?:\.\d+)?)/.exec(`${stdout}\n${stderr}`.split("\n").find((l) => /\d+\.\d+/.test(l) && !/Erlang/.test(l)) ?? "");
      resolve(err && !match ? `${runtime}-none` : `${runtime}${match?.[1] ?? "-unknown"}`);
    });
  });
}

/** What goes in front of a job's keys on this runner: `linux-x64-node22.11.0`. */
export async function cacheEnvironmentOf(runtime: string | undefined, env?: NodeJS.ProcessEnv): Promise<string> {
  return cacheEnvironment(platform(), arch(), runtime ? await runtimeVersion(runtime, env) : null);
}
