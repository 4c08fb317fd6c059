/**
 * The first segment of `path` that begins with a dot (`.sparki`, `.cache`), or null. Jobs must
 * not run under one: test suites refuse such paths (express's static files treat them as
 * hidden files and answer 404), so a build that passes elsewhere would fail here.
 */
import { resolve, sep } from "node:path";

export function dotSegment(path: string): string | null {
  return (
    resolve(path)
      .split(sep)
      .find((segment) => segment.startsWith(".")) ?? null
  );
}
