import { Box, Text } from "ink";
import { useEffect, useRef, useState, type ReactNode } from "react";
import type { TuiSource } from "./source.ts";
import { clampTop, LogBuffer } from "./log-buffer.ts";
import { h, StatusText, useKeys } from "./ui.ts";

export interface LogViewProps {
  /** Only the visible lines. */
  lines: string[];
  top: number;
  total: number;
  follow: boolean;
  status: string | undefined;
  height: number;
  error?: string;
}

/** The visible window of a log, with a position line (pure view; ANSI colours pass through). */
export function LogView(p: LogViewProps): ReactNode {
  const last = Math.min(p.total, p.top + p.lines.length);
  return h(
    Box,
    { flexDirection: "column", height: p.height },
    h(
      Box,
      null,
      h(Text, { bold: true, color: "cyan" }, "Log  "),
      p.status ? h(StatusText, { status: p.status }) : null,
      h(Text, { dimColor: true }, `  lines ${p.total ? p.top + 1 : 0}-${last} of ${p.total}  ${p.follow ? "following" : "paused (G follows)"}`),
    ),
    ...p.lines.map((l, i) => h(Text, { key: p.top + i, wrap: "truncate" }, l === "" ? " " : l)),
    p.error ? h(Text, { color: "red" }, p.error) : null,
  );
}

/** Follows a build's log over the WebSocket; ↑↓ PgUp PgDn g G scroll, f toggles following. */
export function LogScreen({ source, buildId, active, height }: { source: TuiSource; buildId: string; active: boolean; height: number }): ReactNode {
  const buffer = useRef(new LogBuffer());
  const [, setVersion] = useState(0);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  // One state, updated from the previous value: keys can arrive faster than frames.
  const [view, setView] = useState({ follow: true, top: 0 });
  const rows = height - 2;
  useEffect(() => {
    buffer.current = new LogBuffer();
    setVersion((v) => v + 1);
    let pending: ReturnType<typeof setTimeout> | undefined;
    // Many lines a second become at most 20 renders a second.
    const rerender = () => (pending ??= setTimeout(() => ((pending = undefined), setVersion((v) => v + 1)), 50));
    const stop = source.followLog(
      buildId,
      (lines) => (buffer.current.append(lines), rerender()),
      (s) => setStatus(s),
      (m) => setError(m),
    );
    return () => {
      stop();
      if (pending) clearTimeout(pending);
    };
  }, [buildId, source]);
  const total = buffer.current.length;
  const topOf = (v: { follow: boolean; top: number }, length: number) => (v.follow ? clampTop(length - rows, length, rows) : clampTop(v.top, length, rows));
  const shownTop = topOf(view, total);
  useKeys((input, key) => {
    const move = (delta: number) =>
      setView((v) => {
        const length = buffer.current.length;
        return { follow: false, top: clampTop(topOf(v, length) + delta, length, rows) };
      });
    if (key.upArrow || input === "k") move(-1);
    else if (key.downArrow || input === "j") move(1);
    else if (key.pageUp || input === "b") move(-rows);
    else if (key.pageDown || input === " ") move(rows);
    else if (input === "g") move(-Number.MAX_SAFE_INTEGER);
    else if (input === "G") setView((v) => ({ ...v, follow: true }));
    else if (input === "f") setView((v) => ({ follow: !v.follow, top: topOf(v, buffer.current.length) }));
  }, active);
  return h(LogView, { lines: buffer.current.window(shownTop, rows), top: shownTop, total, follow: view.follow, status, height, error });
}
