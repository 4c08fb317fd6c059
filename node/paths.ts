/**
 * The first segment of `path` that begins with a dot (`.sparki`, `.cache`), or null. Jobs must
 * not run under one: test suites refuse such paths (express's static files treat them as
 * hidden files and answer 404), so a build that passes elsewhere would fail here.
 */
import { accessSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { resolve, sep } from "node:path";

export function dotSegment(path: string): string | null {
  return (
    resolve(path)
      .split(sep)
      .find((segment) => segment.startsWith(".")) ?? null
  );
}

/**
 * Where jobs' folders go when nothing says: $TMPDIR when set, else /var/tmp, which is on disk
 * (/tmp is a tmpfs on many systems, and a checkout with its dependencies would sit in memory),
 * else the OS temp dir.
 */
export function scratchRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TMPDIR) return resolve(env.TMPDIR);
  try {
    accessSync("/var/tmp", constants.W_OK);
    return "/var/tmp";
  } catch {
    return tmpdir();
  }
}
