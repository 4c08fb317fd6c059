/** The terminal UI's screens as the user sees them (frames), with plain data from a fake source. */
import { render } from "ink-testing-library";
import { createElement as h } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./app.ts";
import { BUILD, DEPLOYMENT, fakeSource, WS, type FakeSource } from "./fixtures.ts";
import { LogBuffer } from "./log-buffer.ts";
import { LogView } from "./logs.ts";

const ANSI = /\x1b\[[0-9;]*m/g;
const plain = (frame: string | undefined) => (frame ?? "").replace(ANSI, "");
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));
const KEYS = { down: "\u001B[B", up: "\u001B[A", tab: "\t", enter: "\r" };

let instances: Array<{ unmount(): void }> = [];
afterEach(() => {
  for (const i of instances) i.unmount();
  instances = [];
});

async function start(source: FakeSource = fakeSource()) {
  const app = render(h(App, { source, workspaceId: WS, configFile: "/home/me/.config/sparki/config.json" }));
  instances.push(app);
  const screen = () => plain(app.lastFrame());
  /** Waits (the machine may be busy) until the screen shows `what`. */
  const until = (what: string | RegExp) => vi.waitFor(() => (typeof what === "string" ? expect(screen()).toContain(what) : expect(screen()).toMatch(what)), { timeout: 5000, interval: 20 });
  await until("❯ web");
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      app.stdin.write(k);
      await settle();
    }
  };
  return { app, source, press, screen, until };
}

function expectFits(screen: string): void {
  const lines = screen.split("\n");
  expect(lines.length).toBeLessThanOrEqual(24);
  for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
}

describe("sparki tui", () => {
  it("opens on the overview: workspace, projects and recent builds with status, within 80x24", async () => {
    const { screen, until } = await start();
    await until(/#5\s+✓ succeeded/);
    const s = screen();
    expect(s).toContain("1 overview");
    expect(s).toContain("workspace Acme");
    expect(s).toContain("❯ web");
    expect(s).toMatch(/#7\s+▶ running/);
    expect(s).toMatch(/#6\s+✗ failed/);
    expect(s).toMatch(/#5\s+✓ succeeded/);
    expectFits(s);
  });

  it("? shows the key map and any key closes it", async () => {
    const { press, screen, until } = await start();
    await press("?");
    await until("Keys");
    expect(screen()).toContain("logs: first line / follow the end");
    expectFits(screen());
    await press("x");
    await until("Recent builds");
    expect(screen()).not.toContain("Keys");
  });

  it("opens a build from the overview: jobs, steps and progress", async () => {
    const { press, screen, until } = await start();
    await until("#7");
    await press(KEYS.tab, KEYS.enter);
    await until(/\[███░░░░░░░\] 1\/3/);
    const s = screen();
    expect(s).toContain("Build #7");
    expect(s).toMatch(/build\s+▶ running\s+\[███░░░░░░░\] 1\/3/);
    expect(s).toMatch(/install\s+✓ succeeded\s+exit 0/);
    expect(s).toMatch(/test\s+▶ running/);
    expectFits(s);
  });

  it("shows the live log, follows the end, scrolls with g/G and keeps colours", async () => {
    const { press, screen, source, app, until } = await start();
    await until("#7");
    await press(KEYS.tab, "l");
    await vi.waitFor(() => expect(source.calls).toContain(`follow ${BUILD}`));
    source.emit(
      Array.from({ length: 100 }, (_, i) => ({ seq: i + 1, jobId: `${BUILD}.1`, step: "build", ts: 0, text: i === 99 ? "\x1b[31mlast line\x1b[0m" : `line ${i + 1}` })),
      "running",
    );
    await until("lines 82-100 of 100  following");
    expect(screen()).toContain("last line");
    expect(app.lastFrame()).toContain("\x1b[31mlast line");
    expect(screen()).not.toContain("line 81\n");
    await press("g");
    await until("lines 1-19 of 100  paused");
    expect(screen()).toMatch(/\nline 1\n/);
    await press(KEYS.down);
    await until("lines 2-20 of 100");
    await press(KEYS.down);
    await until("lines 3-21 of 100");
    await press("G");
    await until("lines 82-100 of 100  following");
    expectFits(screen());
  });

  it("shows the project's pipeline: stages, jobs and steps", async () => {
    const { press, screen, until } = await start();
    await press("2");
    await until("Pipeline of web");
    const s = screen();
    expect(s).toContain("Pipeline of web  v3 (detect)  2 jobs");
    expect(s).toContain("compile  (needs install)  [linux]");
    expect(s).toContain("build: npm run build");
  });

  it("lists deployments; a approves, r then y rolls back", async () => {
    const { press, source, until } = await start();
    await press("5");
    await until(/44444444\s+! awaiting_approval\s+main/);
    await press("a");
    await until("approve: now deploying");
    expect(source.calls).toContain(`approve ${DEPLOYMENT}`);
    await press("r");
    await until("Roll back this deployment? y to confirm");
    await press("y");
    await until("rollback: now rolling_back");
    expect(source.calls).toContain(`rollback ${DEPLOYMENT}`);
  });

  it("settings show the server and switch the workspace", async () => {
    const { press, source, until } = await start();
    await press("6");
    await until("server     http://127.0.0.1:8787");
    await until("● Acme  (acme, owner)");
    await press(KEYS.enter);
    await until("current workspace: Acme");
    expect(source.calls).toContain(`use ${WS}`);
  });
});

describe("LogView", () => {
  it("renders only the visible window of a million-line log", () => {
    const buffer = new LogBuffer();
    for (let i = 1; i <= 1_000_000; i++) buffer.lines.push(`line ${i}`);
    const started = performance.now();
    const view = render(h(LogView, { lines: buffer.window(999_979, 21), top: 999_979, total: buffer.length, follow: true, status: "running", height: 23 }));
    instances.push(view);
    const s = plain(view.lastFrame());
    expect(performance.now() - started).toBeLessThan(3000);
    expect(s).toContain("lines 999980-1000000 of 1000000  following");
    expect(s).toContain("line 1000000");
    expect(s.split("\n")).toHaveLength(23);
  });

  it("joins a partial line with the text that follows it", () => {
    const buffer = new LogBuffer();
    buffer.append([{ text: "downloading… ", partial: true }, { text: "done" }, { text: "next" }]);
    expect(buffer.lines).toEqual(["downloading… done", "next"]);
  });
});
