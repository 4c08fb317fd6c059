import { Box, Text } from "ink";
import { useEffect, useState, type ReactNode } from "react";
import type { Project } from "../../core/contracts/projects.ts";
import type { BuildSummary } from "../endpoints.ts";
import { ago } from "../output.ts";
import type { TuiSource } from "./source.ts";
import { h, List, pad, Panel, StatusText, useLoad, useKeys } from "./ui.ts";

export interface OverviewProps {
  workspace: string;
  projects: Project[] | undefined;
  projectIndex: number;
  builds: BuildSummary[] | undefined;
  buildIndex: number;
  focus: "projects" | "builds";
  height: number;
  error?: string;
  message?: string;
}

/** Workspace, its projects and the selected project's recent builds (pure view). */
export function OverviewView(p: OverviewProps): ReactNode {
  const rows = p.height - 2;
  return h(
    Box,
    { flexDirection: "column", height: p.height },
    h(Text, null, h(Text, { dimColor: true }, "workspace "), h(Text, { bold: true }, p.workspace)),
    h(
      Box,
      null,
      h(
        Panel,
        { title: "Projects", width: 28 },
        p.projects
          ? h(List, {
              rows: p.projects.map((x) => h(Text, { key: x.id, wrap: "truncate" }, pad(x.name, 24))),
              selected: p.projectIndex,
              height: rows - 1,
              focused: p.focus === "projects",
              empty: "no projects: n creates one",
            })
          : h(Text, { dimColor: true }, "loading…"),
      ),
      h(
        Panel,
        { title: "Recent builds", width: 50 },
        p.builds
          ? h(List, {
              rows: p.builds.map((b) =>
                h(
                  Box,
                  { key: b.id },
                  h(Text, null, `#${String(b.number).padEnd(4)} `),
                  h(Box, { width: 16 }, h(StatusText, { status: b.status })),
                  h(Text, { wrap: "truncate" }, `${pad(b.tag ? `tag ${b.tag}` : b.branch, 12)} ${ago(b.createdAt)}`),
                ),
              ),
              selected: p.buildIndex,
              height: rows - 1,
              focused: p.focus === "builds",
              empty: "no builds: b starts one",
            })
          : h(Text, { dimColor: true }, p.projects?.length === 0 ? "" : "loading…"),
      ),
    ),
    p.error ? h(Text, { color: "red", wrap: "truncate" }, p.error) : p.message ? h(Text, { color: "yellow", wrap: "truncate" }, p.message) : null,
  );
}

export interface OverviewScreenProps {
  source: TuiSource;
  workspaceId: string;
  workspace: string;
  projectId: string | undefined;
  active: boolean;
  height: number;
  onProject(id: string): void;
  onOpenBuild(id: string, view: "build" | "logs"): void;
  /** `n`: the new-project form. */
  onNewProject(): void;
  /** A line to show until the next action (e.g. "created project web"). */
  notice?: string;
}

export function OverviewScreen(p: OverviewScreenProps): ReactNode {
  const projects = useLoad(p.workspaceId, () => p.source.projects(p.workspaceId), 10_000);
  const list = projects.data ?? [];
  const projectIndex = Math.max(
    0,
    list.findIndex((x) => x.id === p.projectId),
  );
  const project = list[projectIndex];
  const builds = useLoad(project?.id, () => p.source.builds(project?.id ?? ""), 3_000);
  const [buildIndex, setBuildIndex] = useState(0);
  const [focus, setFocus] = useState<"projects" | "builds">("projects");
  const [message, setMessage] = useState<string>();
  useEffect(() => {
    if (project && project.id !== p.projectId) p.onProject(project.id);
  }, [project?.id, p.projectId]);
  useKeys((input, key) => {
    const down = key.downArrow || input === "j";
    const up = key.upArrow || input === "k";
    if (key.tab || key.leftArrow || key.rightArrow) setFocus((f) => (f === "projects" ? "builds" : "projects"));
    else if (focus === "projects" && (up || down)) {
      const next = list[Math.max(0, Math.min(list.length - 1, projectIndex + (down ? 1 : -1)))];
      if (next) p.onProject(next.id);
      setBuildIndex(0);
    } else if (focus === "builds" && (up || down)) setBuildIndex((i) => Math.max(0, Math.min((builds.data?.length ?? 1) - 1, i + (down ? 1 : -1))));
    else if (input === "n") p.onNewProject();
    else if (input === "b" && project) {
      setMessage(`starting a build of ${project.name}…`);
      p.source.triggerBuild(project.id).then(
        (b) => p.onOpenBuild(b.id, "logs"),
        (e: Error) => setMessage(`build not started: ${e.message}`),
      );
    } else if (key.return || input === "l") {
      const b = builds.data?.[focus === "builds" ? buildIndex : 0];
      if (b) p.onOpenBuild(b.id, input === "l" ? "logs" : "build");
    }
  }, p.active);
  return h(OverviewView, {
    workspace: p.workspace,
    projects: projects.data,
    projectIndex,
    builds: project ? builds.data : [],
    buildIndex,
    focus,
    height: p.height,
    error: projects.error ?? builds.error,
    message: message ?? p.notice,
  });
}
