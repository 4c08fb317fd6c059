/** Small building blocks shared by the screens (no JSX: plain createElement keeps tsconfig as it is). */
import { Box, Text, useInput, type Key } from "ink";
import { createElement as h, useCallback, useEffect, useRef, useState, type ReactNode } from "react";

export { h };

const STATUS_COLOURS: Record<string, string> = {
  succeeded: "green",
  healthy: "green",
  failed: "red",
  timed_out: "red",
  unhealthy: "red",
  rolled_back: "magenta",
  cancelled: "gray",
  running: "yellow",
  deploying: "yellow",
  verifying: "yellow",
  rolling_back: "magenta",
  awaiting_approval: "cyan",
  queued: "blue",
  pending: "blue",
};
const ICONS: Record<string, string> = {
  succeeded: "✓",
  healthy: "✓",
  failed: "✗",
  timed_out: "✗",
  unhealthy: "✗",
  cancelled: "○",
  skipped: "-",
  running: "▶",
  deploying: "▶",
  verifying: "…",
  awaiting_approval: "!",
  rolling_back: "↺",
  rolled_back: "↺",
  queued: "·",
  pending: "·",
  waiting: "·",
};

export function StatusText({ status }: { status: string }): ReactNode {
  return h(Text, { color: STATUS_COLOURS[status] }, `${ICONS[status] ?? "·"} ${status}`);
}

/** A titled panel. */
export function Panel({ title, children, width, height }: { title: string; children?: ReactNode; width?: number | string; height?: number }): ReactNode {
  return h(Box, { flexDirection: "column", width, height }, h(Text, { bold: true, color: "cyan" }, title), children);
}

/**
 * Rows of a list, the selected one highlighted, scrolled so the selection stays visible; only
 * `height` rows are rendered.
 */
export function List({
  rows,
  selected,
  height,
  focused = true,
  empty = "nothing yet",
}: {
  rows: ReactNode[];
  selected: number;
  height: number;
  focused?: boolean;
  empty?: string;
}): ReactNode {
  if (!rows.length) return h(Text, { dimColor: true }, empty);
  const top = Math.max(0, Math.min(selected - Math.floor(height / 2), rows.length - height));
  return h(
    Box,
    { flexDirection: "column" },
    ...rows
      .slice(top, top + height)
      .map((row, i) =>
        h(Box, { key: top + i }, h(Text, { color: focused && top + i === selected ? "cyan" : undefined }, top + i === selected ? "❯ " : "  "), row),
      ),
  );
}

export const short = (id: string) => id.slice(0, 8);
export const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload(): void;
}

/** Loads `fn` when `key` changes (undefined key: nothing to load), and every `refreshMs` if given. */
export function useLoad<T>(key: string | undefined, fn: () => Promise<T>, refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, [key]);
  useEffect(() => {
    if (key === undefined) return;
    let live = true;
    fnRef.current().then(
      (d) => live && (setData(d), setError(undefined)),
      (e: Error) => live && setError(e.message),
    );
    const timer = refreshMs ? setTimeout(() => setTick((t) => t + 1), refreshMs) : undefined;
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [key, tick, refreshMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

/**
 * useInput with the handler of the latest render: Ink subscribes the handler in an effect, so a
 * key arriving between a render and its effects would otherwise reach the previous closure.
 */
export function useKeys(handler: (input: string, key: Key) => void, active = true): void {
  const ref = useRef(handler);
  ref.current = handler;
  const stable = useCallback((input: string, key: Key) => ref.current(input, key), []);
  useInput(stable, { isActive: active });
}
