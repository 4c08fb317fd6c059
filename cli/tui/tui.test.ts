/** The terminal UI's screens as the user sees them (frames), with plain data from a fake source. */
import { render } from "ink-testing-library";
import { createElement as h } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./app.ts";
import { BUILD, DEPLOYMENT, fakeSource, NEW_BUILD, PROJECT, summary, WS, type FakeSource } from "./fixtures.ts";
import { LogBuffer } from "./log-buffer.ts";
import { LogView } from "./logs.ts";
import { typeKeys } from "../../test/ink-keys.ts";

const ANSI = /\x1b\[[0-9;]*m/g;
const plain = (frame: string | undefined) => (frame ?? "").replace(ANSI, "");
const KEYS = { down: "\u001B[B", up: "\u001B[A", tab: "\t", enter: "\r", esc: "\u001B", backspace: "\u007F" };

let instances: Array<{ unmount(): void }> = [];
afterEach(() => {
  for (const i of instances) i.unmount();
  instances = [];
});

async function start(source: FakeSource = fakeSource()) {
  const app = render(h(App, { source, workspaceId: WS, configFile: "/home/me/.config/sparki/config.json", cwd: "/home/me/src" }));
  instances.push(app);
  const screen = () => plain(app.lastFrame());
  /** Waits (the machine may be busy) until the screen shows `what`. */
  const until = (what: string | RegExp) =>
    vi.waitFor(() => (typeof what === "string" ? expect(screen()).toContain(what) : expect(screen()).toMatch(what)), { timeout: 5000, interval: 20 });
  await until("❯ web");
  const press = (...keys: string[]) => typeKeys(app.stdin, ...keys);
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
    expect(screen()).toContain("overview: new project (a git URL or a folder here)");
    expect(screen()).toContain("overview: build the selected project, watch its log");
    expect(screen()).toContain("deployments: deploy a succeeded build / approve / roll back");
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
      Array.from({ length: 100 }, (_, i) => ({
        seq: i + 1,
        jobId: `${BUILD}.1`,
        step: "build",
        ts: 0,
        text: i === 99 ? "\x1b[31mlast line\x1b[0m" : `line ${i + 1}`,
      })),
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

  it("n opens the new-project form: a name and a folder (made absolute) create the project, then selected", async () => {
    const { press, screen, source, until } = await start();
    await press("n");
    await until("New project");
    expect(screen()).toMatch(/❯ Name/);
    expectFits(screen());
    // Typed keys go to the form, not to the app: q does not quit, 5 does not switch tabs.
    await press("q", "5", KEYS.backspace, KEYS.backspace, "s", "h", "o", "p", KEYS.tab);
    await until(/❯ Repository/);
    for (const ch of "./shop") await press(ch);
    await until("./shop");
    await press(KEYS.enter);
    await until("created project shop; b builds it");
    expect(source.calls).toContain(`create ${WS} shop /home/me/src/shop`);
    await until("❯ shop");
    await until(/^project shop/m);
    expectFits(screen());
  });

  it("the form names the project after its repository, shows the API's refusal, and Esc closes it", async () => {
    const { press, screen, source, until } = await start();
    await press("n", KEYS.tab, "~", "/", "w", "e", "b", "2", ".", "g", "i", "t", KEYS.enter);
    await until("created project web2");
    expect(source.calls.find((c) => c.startsWith("create "))).toMatch(/^create \S+ web2 \/.+\/web2\.git$/);
    await press("n", "t", "a", "k", "e", "n", KEYS.tab, ".", KEYS.enter);
    await until("A project with this name already exists.");
    expect(screen()).toContain("New project");
    await press(KEYS.esc);
    await until("Recent builds");
    expect(screen()).not.toContain("New project");
  });

  it("b builds the selected project and opens the new build's live log", async () => {
    const { press, source, until } = await start();
    await press("b");
    await vi.waitFor(() => expect(source.calls).toContain(`follow ${NEW_BUILD}`));
    expect(source.calls).toContain(`trigger ${PROJECT}`);
    source.emit([{ seq: 1, jobId: `${NEW_BUILD}.1`, step: "build", ts: 0, text: "compiling" }], "running");
    await until(/Log\s+▶ running[\s\S]*compiling/);
    await until("build 77777777");
  });

  it("deployments: d names the newest succeeded build, y deploys it; any other key does not", async () => {
    const { press, screen, source, until } = await start();
    await press("5");
    await until("d deploys build #5 (main aaaaaaa)");
    await press("d");
    await until("Deploy build #5 (main aaaaaaa)? y to confirm");
    expectFits(screen());
    await press("x");
    await until("deploy not done");
    expect(source.calls.some((c) => c.startsWith("deploy "))).toBe(false);
    await press("d", "y");
    await until("deploy: now deploying");
    expect(source.calls).toContain(`deploy ${summary(5, "succeeded").id}`);
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
    // What proves "only the window": the view is handed 21 lines and draws 23 (with its two
    // header lines), whatever the log's length.
    const window = buffer.window(999_979, 21);
    expect(window).toHaveLength(21);
    const view = render(h(LogView, { lines: window, top: 999_979, total: buffer.length, follow: true, status: "running", height: 23 }));
    instances.push(view);
    const s = plain(view.lastFrame());
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
