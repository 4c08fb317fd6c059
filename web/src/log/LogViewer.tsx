/**
 * The live log viewer: lines kept in a LogStore, drawn virtually (fixed row height, only the
 * visible rows plus a few either side), appended at most once per animation frame. Follow mode
 * keeps the newest line in view and stops as soon as the reader scrolls up; scrolling back to
 * the bottom (or the Follow button) starts it again. Search, jump to a step, #L123 links and
 * download of the whole text.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { LogLine } from "../contracts.ts";
import { parseAnsi, type Segment } from "./ansi.ts";
import type { LogStore } from "./store.ts";
import { logShown } from "../priority.ts";

export const ROW_HEIGHT = 18;
const OVERSCAN = 20;

export interface LogViewerProps {
  buildId: string;
  buildNumber: number;
  /** Lines to add, handed in by the page that owns the socket. */
  store: LogStore;
  /** Bumped by the page once per animation frame that added lines. */
  version: number;
  /** A step to show, set when the reader picks one on the page. */
  jumpTo: { jobId: string; step: string; at: number } | null;
  /** Labels for step ids: "job name › step name". */
  stepLabel(jobId: string, step: string): string;
}

function Row({ text }: { text: string }) {
  const segments = useMemo(() => parseAnsi(text), [text]);
  return (
    <>
      {segments.map((s: Segment, i) =>
        s.cls === "" && !s.fg && !s.bg ? (
          s.text
        ) : (
          <span key={i} class={s.cls || undefined} style={s.fg || s.bg ? { color: s.fg, background: s.bg } : undefined}>
            {s.text}
          </span>
        ),
      )}
    </>
  );
}

function lineFromHash(): number | null {
  const m = /^#L(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

export function LogViewer({ buildId, buildNumber, store, version, jumpTo, stepLabel }: LogViewerProps) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 400 });
  const [follow, setFollow] = useState(lineFromHash() === null);
  const [marked, setMarked] = useState<number | null>(() => {
    const l = lineFromHash();
    return l === null ? null : l - 1;
  });
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<{ index: number; note: string } | null>(null);
  const pendingScroll = useRef<number | null>(marked);
  const firstShown = useRef(false);
  const ticking = useRef(false);

  const total = store.length;

  // Follow: after lines were added, show the last one.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (pendingScroll.current !== null && pendingScroll.current < total) {
      el.scrollTop = Math.max(0, pendingScroll.current * ROW_HEIGHT - el.clientHeight / 2);
      pendingScroll.current = null;
    } else if (follow) {
      el.scrollTop = el.scrollHeight;
    }
    if (!firstShown.current && total > 0) {
      firstShown.current = true;
      performance.mark("sparki:first-log-line");
      logShown();
    }
  }, [version, follow, total]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    const onHash = () => {
      const l = lineFromHash();
      if (l === null) return;
      setMarked(l - 1);
      setFollow(false);
      pendingScroll.current = l - 1;
      setView((v) => ({ ...v }));
    };
    addEventListener("hashchange", onHash);
    return () => (observer.disconnect(), removeEventListener("hashchange", onHash));
  }, []);

  useEffect(() => {
    if (!jumpTo) return;
    const first = store.firstLineOf(jumpTo.jobId, jumpTo.step);
    if (first === undefined) return;
    setFollow(false);
    setMarked(first);
    scrollToLine(first, "start");
  }, [jumpTo]);

  const scrollToLine = (index: number, where: "start" | "center") => {
    const el = box.current;
    if (!el) return;
    el.scrollTop = where === "start" ? index * ROW_HEIGHT : Math.max(0, index * ROW_HEIGHT - el.clientHeight / 2);
  };

  const onScroll = () => {
    const el = box.current;
    if (!el || ticking.current) return;
    ticking.current = true;
    requestAnimationFrame(() => {
      ticking.current = false;
      const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT * 1.5;
      setFollow(atBottom);
      setView({ top: el.scrollTop, height: el.clientHeight });
    });
  };

  const search = (backwards: boolean) => {
    const from = found?.index ?? (backwards ? total : -1);
    const index = store.find(query, from, backwards);
    if (index < 0) {
      setFound({ index: from, note: `“${query}” is not in the log` });
      return;
    }
    setFound({ index, note: `line ${index + 1}` });
    setFollow(false);
    setMarked(index);
    scrollToLine(index, "center");
  };

  // Following, the rows to draw are the last ones, whatever the last scroll event said.
  const top = follow && pendingScroll.current === null ? Math.max(0, total * ROW_HEIGHT - view.height) : view.top;
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((top + view.height) / ROW_HEIGHT) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const step = store.stepAt(i);
    const cls = i === marked ? "row marked" : "row";
    rows.push(
      <div key={i} class={cls} data-step={step ? `${step.jobId}/${step.step}` : undefined}>
        <a class="ln" href={`#L${i + 1}`} aria-label={`line ${i + 1}`} tabIndex={-1}>
          {i + 1}
        </a>
        <span class="tx">
          <Row text={store.texts[i] ?? ""} />
        </span>
      </div>,
    );
  }

  return (
    <section class="log" aria-label="Build log">
      <div class="log-tools">
        <form role="search" onSubmit={(e) => (e.preventDefault(), search(false))}>
          <label for="log-search">Search the log</label>
          <input
            id="log-search"
            type="search"
            value={query}
            onInput={(e) => (setQuery(e.currentTarget.value), setFound(null))}
            onKeyDown={(e) => e.key === "Enter" && e.shiftKey && (e.preventDefault(), search(true))}
          />
          <button type="button" onClick={() => search(true)} disabled={query === ""}>
            Previous
          </button>
          <button type="submit" disabled={query === ""}>
            Next
          </button>
          <span class="note" aria-live="polite">
            {found?.note ?? ""}
          </span>
        </form>
        <label for="log-step">Jump to step</label>
        <select
          id="log-step"
          onChange={(e) => {
            const mark = store.steps[Number(e.currentTarget.value)];
            if (mark) {
              setFollow(false);
              setMarked(mark.first);
              scrollToLine(mark.first, "start");
            }
          }}
        >
          <option value="">{store.steps.length === 0 ? "no steps yet" : "choose a step"}</option>
          {store.steps.map((s, i) => (
            <option key={i} value={i}>
              {stepLabel(s.jobId, s.step)}
            </option>
          ))}
        </select>
        <button
          type="button"
          aria-pressed={follow}
          onClick={() => {
            setFollow(!follow);
            if (!follow) setMarked(null);
          }}
        >
          {follow ? "Following" : "Follow"}
        </button>
        <a class="button" href={`/v1/builds/${buildId}/logs.txt`} download={`build-${buildNumber}.log`}>
          Download
        </a>
        <span class="note" id="log-count">
          {total.toLocaleString()} lines
        </span>
      </div>
      <div class="log-box" ref={box} onScroll={onScroll} tabIndex={0} role="region" aria-label="Log lines (scroll with the arrow keys)">
        <div class="log-space" style={{ height: `${total * ROW_HEIGHT}px` }}>
          <div class="log-rows" style={{ transform: `translateY(${first * ROW_HEIGHT}px)` }}>
            {rows}
          </div>
        </div>
      </div>
    </section>
  );
}

/** Feeds socket lines into a store, at most once per frame; returns the version to draw. */
export function useBatchedLines(store: LogStore): [number, (lines: LogLine[]) => void] {
  const [version, setVersion] = useState(0);
  const pending = useRef<LogLine[][]>([]);
  const scheduled = useRef(false);
  const add = useMemo(
    () => (lines: LogLine[]) => {
      pending.current.push(lines);
      if (scheduled.current) return;
      scheduled.current = true;
      const flush = () => {
        if (!scheduled.current) return;
        scheduled.current = false;
        for (const batch of pending.current.splice(0)) store.append(batch);
        setVersion(store.version);
      };
      // The very first lines are drawn at once: the reader is waiting for them.
      if (store.length === 0) return flush();
      requestAnimationFrame(flush);
      // A hidden tab gets no animation frames: still keep up, four times a second.
      setTimeout(flush, 250);
    },
    [store],
  );
  return [version, add];
}
