import { Box, Text } from "ink";
import { useState, type ReactNode } from "react";
import type { Me } from "../endpoints.ts";
import { h, List, useKeys } from "./ui.ts";

export interface SettingsProps {
  url: string;
  configFile: string;
  me: Me | undefined;
  workspaceId: string | undefined;
  selected: number;
  height: number;
  message?: string;
}

export function SettingsView(p: SettingsProps): ReactNode {
  const workspaces = p.me?.workspaces ?? [];
  return h(
    Box,
    { flexDirection: "column", height: p.height },
    h(Text, { bold: true, color: "cyan" }, "Settings"),
    h(Text, null, `server     ${p.url}`),
    h(Text, null, `user       ${p.me?.user.email ?? "…"}`),
    h(Text, null, `config     ${p.configFile}`),
    h(Text, null, " "),
    h(Text, { bold: true }, "Workspace (Enter makes the selected one current)"),
    h(List, {
      rows: workspaces.map((w) => h(Text, { key: w.id, wrap: "truncate" }, `${w.id === p.workspaceId ? "● " : "  "}${w.name}  (${w.slug}, ${w.role})`)),
      selected: p.selected,
      height: p.height - 7,
      empty: "no workspaces",
    }),
    p.message ? h(Text, { color: "yellow" }, p.message) : null,
  );
}

export function SettingsScreen(p: Omit<SettingsProps, "selected" | "message"> & { active: boolean; onWorkspace(id: string): Promise<void> }): ReactNode {
  const [selected, setSelected] = useState(0);
  const [message, setMessage] = useState<string>();
  const workspaces = p.me?.workspaces ?? [];
  useKeys((input, key) => {
    if (key.downArrow || input === "j") setSelected((s) => Math.min(workspaces.length - 1, s + 1));
    else if (key.upArrow || input === "k") setSelected((s) => Math.max(0, s - 1));
    else if (key.return) {
      const w = workspaces[selected];
      if (w)
        p.onWorkspace(w.id).then(
          () => setMessage(`current workspace: ${w.name}`),
          (e: Error) => setMessage(e.message),
        );
    }
  }, p.active);
  return h(SettingsView, { ...p, selected, message });
}
