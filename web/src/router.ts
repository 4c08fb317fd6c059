/**
 * A router in a few lines: the path is the state, links are plain <a href> (so they open in a
 * new tab, can be copied, work without script), and a click on one is turned into pushState.
 */
import { useEffect, useState } from "preact/hooks";

/** True after a navigation the reader asked for (not a redirect), to move focus to the new page. */
export let readerNavigated = false;

export function navigate(path: string, replace = false): void {
  readerNavigated = !replace;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  dispatchEvent(new Event("sparki:navigate"));
  scrollTo(0, 0);
}

/** Re-renders on navigation; returns the current path. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    const back = () => ((readerNavigated = true), update());
    addEventListener("popstate", back);
    addEventListener("sparki:navigate", update);
    return () => (removeEventListener("popstate", back), removeEventListener("sparki:navigate", update));
  }, []);
  return path;
}

/** Same-origin link clicks without modifier keys become client-side navigations. */
export function interceptLinks(): void {
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/v1/") || url.pathname.startsWith("/sites/")) return;
    if (url.pathname === location.pathname && url.hash) return;
    e.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
}

/** Matches a path against a pattern like "/builds/:id"; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? "";
    const g = got[i] ?? "";
    if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return null;
  }
  return params;
}
