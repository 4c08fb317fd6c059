/** Small pieces every page uses: loading data, showing errors, statuses and times. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

export interface Async<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/**
 * Loads with `load` when `key` changes, and again every `pollMs` while `poll(data)` says so
 * (a live list of builds), without piling requests up.
 */
export function useAsync<T>(load: () => Promise<T>, key: unknown[], opts: { pollMs?: number; poll?: (data: T) => boolean } = {}): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((s) => ({ ...s, loading: true }));
    latest
      .current()
      .then((data) => {
        if (!live) return;
        setState({ data, error: null, loading: false });
        if (opts.pollMs && (opts.poll?.(data) ?? true)) timer = setTimeout(() => setTick((t) => t + 1), opts.pollMs);
      })
      .catch((err: unknown) => {
        if (!live) return;
        setState((s) => ({ data: s.data, error: messageOf(err), loading: false }));
        if (opts.pollMs) timer = setTimeout(() => setTick((t) => t + 1), opts.pollMs * 2);
      });
    return () => ((live = false), clearTimeout(timer));
  }, [...key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.problem?.instance ? `${err.message} (request ${err.problem.instance})` : err.message;
  return err instanceof Error ? err.message : String(err);
}

export function ErrorNote({ error }: { error: string | null | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** Runs an action from a button or form, showing its error; returns [run, busy, error]. */
export function useAction(): [(fn: () => Promise<unknown>) => Promise<void>, boolean, string | null] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, error];
}

export function Status({ status }: { status: string }) {
  return <span class={`status s-${status}`}>{status.replace(/_/g, " ")}</span>;
}

export function Time({ at }: { at: string | null }) {
  if (!at) return <span class="muted">—</span>;
  const d = new Date(at);
  return (
    <time dateTime={at} title={d.toISOString()}>
      {d.toLocaleString()}
    </time>
  );
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return "";
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Sparki`;
  }, [title]);
  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1} id="page-title">
          {title}
        </h1>
        {actions ? <div class="actions">{actions}</div> : null}
      </div>
      {children}
    </>
  );
}

export const FINISHED = new Set(["succeeded", "failed", "cancelled", "timed_out", "rolled_back"]);
