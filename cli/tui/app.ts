import { Box, Text, useApp } from "ink";
import { useState, type ReactNode } from "react";
import { BuildScreen } from "./build.ts";
import { DeploymentsScreen } from "./deployments.ts";
import { ProjectForm } from "./form.ts";
import { LogScreen } from "./logs.ts";
import { OverviewScreen } from "./overview.ts";
import { PipelineScreen } from "./pipeline.ts";
import { SettingsScreen } from "./settings.ts";
import type { TuiSource } from "./source.ts";
import { h, short, useLoad, useKeys } from "./ui.ts";

export const TABS = ["overview", "pipeline", "build", "logs", "deployments", "settings"] as const;
export type Tab = (typeof TABS)[number];

const HINTS: Record<Tab, string> = {
  overview: "↑↓ Tab move  Enter build  l logs  n new project  b build",
  pipeline: "↑↓ scroll",
  build: "l logs  c cancel  r retry",
  logs: "↑↓ PgUp PgDn scroll  g top  G follow  f pause",
  deployments: "↑↓ select  d deploy  a approve  r rollback",
  settings: "↑↓ select  Enter use workspace",
};

export const KEYMAP: Array<[string, string]> = [
  ["1-6", "overview, pipeline, build, logs, deployments, settings"],
  ["?", "this help (any key closes it)"],
  ["q", "quit (Ctrl-C too)"],
  ["↑↓ j k", "move or scroll"],
  ["Tab ← →", "overview: switch between projects and builds"],
  ["Enter", "overview: open the build; settings: use the workspace"],
  ["n", "overview: new project (a git URL or a folder here)"],
  ["b", "overview: build the selected project, watch its log"],
  ["l", "logs of the selected build"],
  ["c / r", "build: cancel / retry"],
  ["PgUp PgDn", "logs: a page up or down (b / space too)"],
  ["g / G", "logs: first line / follow the end"],
  ["f", "logs: pause or resume following"],
  ["d / a / r", "deployments: deploy a succeeded build / approve / roll back"],
  ["y", "confirms a deploy or a rollback"],
];

export function HelpView({ height }: { height: number }): ReactNode {
  return h(
    Box,
    { flexDirection: "column", height },
    h(Text, { bold: true, color: "cyan" }, "Keys"),
    ...KEYMAP.map(([k, v]) => h(Box, { key: k }, h(Box, { width: 12 }, h(Text, { bold: true }, k)), h(Text, null, v))),
  );
}

export interface AppProps {
  source: TuiSource;
  workspaceId?: string;
  configFile: string;
  width?: number;
  height?: number;
  initialTab?: Tab;
  initialBuildId?: string;
  /** Where relative paths typed in the new-project form start (default: the current folder). */
  cwd?: string;
}

/** The terminal UI: a tab bar, the active screen, and a line of key hints (fits 80x24). */
export function App(p: AppProps): ReactNode {
  const { exit } = useApp();
  const width = p.width ?? 80;
  const height = p.height ?? 24;
  const body = height - 3;
  const [tab, setTab] = useState<Tab>(p.initialTab ?? "overview");
  const [help, setHelp] = useState(false);
  // The new-project form takes every key while it is open.
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [workspaceId, setWorkspaceId] = useState(p.workspaceId);
  const [projectId, setProjectId] = useState<string>();
  const [buildId, setBuildId] = useState<string | undefined>(p.initialBuildId);
  const me = useLoad("me", () => p.source.me());
  const workspaces = me.data?.workspaces ?? [];
  const workspace = workspaces.find((w) => w.id === workspaceId) ?? (workspaceId ? undefined : workspaces[0]);
  const projects = useLoad(workspace?.id, () => p.source.projects(workspace?.id ?? ""));
  const projectName = projects.data?.find((x) => x.id === projectId)?.name ?? "";

  useKeys((input, key) => {
    if (creating) return;
    if (help) return setHelp(false);
    if (input === "?") return setHelp(true);
    if (input === "q") return exit();
    const n = Number(input);
    if (Number.isInteger(n) && n >= 1 && n <= TABS.length && !key.ctrl) setTab(TABS[n - 1] ?? "overview");
  });

  const active = (t: Tab) => !help && tab === t;
  let screen: ReactNode = null;
  if (!workspace)
    screen = h(
      Text,
      { color: me.error ? "red" : undefined, dimColor: !me.error },
      me.error ?? (me.data ? "you have no workspace yet: create one with 'sparki workspaces create NAME'" : "loading…"),
    );
  else if (creating)
    screen = h(ProjectForm, {
      active: !help,
      height: body,
      cwd: p.cwd ?? process.cwd(),
      onCancel: () => setCreating(false),
      onSubmit: async (fields) => {
        const created = await p.source.createProject(workspace.id, fields);
        setProjectId(created.id);
        projects.reload();
        setNotice(`created project ${created.name}; b builds it`);
        setCreating(false);
      },
    });
  else if (tab === "overview")
    screen = h(OverviewScreen, {
      source: p.source,
      workspaceId: workspace.id,
      workspace: workspace.name,
      projectId,
      active: active("overview"),
      height: body,
      onProject: setProjectId,
      onOpenBuild: (id, view) => (setBuildId(id), setNotice(undefined), setTab(view)),
      onNewProject: () => (setTab("overview"), setCreating(true)),
      notice,
    });
  else if (tab === "pipeline") screen = h(PipelineScreen, { source: p.source, projectId, projectName, active: active("pipeline"), height: body });
  else if (tab === "build") screen = h(BuildScreen, { source: p.source, buildId, active: active("build"), height: body, onLogs: () => setTab("logs") });
  else if (tab === "deployments") screen = h(DeploymentsScreen, { source: p.source, projectId, buildId, active: active("deployments"), height: body });
  else if (tab === "settings")
    screen = h(SettingsScreen, {
      url: p.source.url,
      configFile: p.configFile,
      me: me.data,
      workspaceId: workspace.id,
      height: body,
      active: active("settings"),
      onWorkspace: async (id) => {
        await p.source.useWorkspace(id);
        setWorkspaceId(id);
        setProjectId(undefined);
      },
    });
  else if (!buildId) screen = h(Text, { dimColor: true }, "choose a build on the overview (1): Tab to the builds, l");

  return h(
    Box,
    { flexDirection: "column", width, height },
    h(
      Box,
      null,
      h(Text, { bold: true, color: "magenta" }, "sparki "),
      ...TABS.map((t, i) => h(Text, { key: t, inverse: tab === t }, ` ${i + 1} ${t === "deployments" ? "deploys" : t} `)),
    ),
    h(
      Box,
      { height: 1 },
      h(Text, { dimColor: true, wrap: "truncate" }, `${projectName ? `project ${projectName}` : ""}${buildId ? `  build ${short(buildId)}` : ""}`),
    ),
    help ? h(HelpView, { height: body }) : screen,
    // The log keeps streaming while another tab is shown.
    buildId
      ? h(Box, { display: !help && tab === "logs" ? "flex" : "none" }, h(LogScreen, { source: p.source, buildId, active: active("logs"), height: body }))
      : null,
    h(Box, { flexGrow: 1 }),
    h(Text, { dimColor: true, wrap: "truncate" }, creating ? "Tab next field  Enter create  Esc cancel  Ctrl-U clear" : `${HINTS[tab]}  ? keys  q quit`),
  );
}
