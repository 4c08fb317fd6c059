import { Box, Text } from "ink";
import { useState, type ReactNode } from "react";
import type { DeploymentSummary } from "../../core/contracts/deployments.ts";
import { ago } from "../output.ts";
import type { TuiSource } from "./source.ts";
import { h, List, pad, short, StatusText, useLoad, useKeys } from "./ui.ts";

export function DeploymentsView({ items, selected, height, message, confirm }: { items: DeploymentSummary[] | undefined; selected: number; height: number; message?: string; confirm?: boolean }): ReactNode {
  return h(
    Box,
    { flexDirection: "column", height },
    h(Text, { bold: true, color: "cyan" }, "Deployments  (a approve, r rollback)"),
    items
      ? h(List, {
          rows: items.map((d) => h(Box, { key: d.id }, h(Text, null, `${short(d.id)}  `), h(Box, { width: 22 }, h(StatusText, { status: d.status })), h(Text, { wrap: "truncate" }, `${pad(d.branch, 12)} ${d.commitSha?.slice(0, 7) ?? "-"}  ${d.trigger.padEnd(6)} ${ago(d.createdAt)}`))),
          selected,
          height: height - 3,
          empty: "no deployments",
        })
      : h(Text, { dimColor: true }, message ? "" : "loading…"),
    confirm ? h(Text, { color: "yellow" }, "Roll back this deployment? y to confirm, any other key to keep it") : message ? h(Text, { color: "yellow", wrap: "truncate" }, message) : null,
  );
}

export function DeploymentsScreen({ source, projectId, active, height }: { source: TuiSource; projectId: string | undefined; active: boolean; height: number }): ReactNode {
  const loaded = useLoad(projectId, () => source.deployments(projectId ?? ""), 3_000);
  const [selected, setSelected] = useState(0);
  const [message, setMessage] = useState<string>();
  const [confirm, setConfirm] = useState(false);
  const items = loaded.data ?? [];
  const current = items[Math.min(selected, items.length - 1)];
  const run = (what: string, p: Promise<{ status: string }>) =>
    p.then(
      (d) => (setMessage(`${what}: now ${d.status}`), loaded.reload()),
      (e: Error) => setMessage(`${what} failed: ${e.message}`),
    );
  useKeys(
    (input, key) => {
      if (confirm) {
        setConfirm(false);
        if (input === "y" && current) void run("rollback", source.rollback(current.id));
        else setMessage("rollback not done");
        return;
      }
      if (key.downArrow || input === "j") setSelected((s) => Math.min(items.length - 1, s + 1));
      else if (key.upArrow || input === "k") setSelected((s) => Math.max(0, s - 1));
      else if (!current) return;
      else if (input === "a") void run("approve", source.approve(current.id));
      else if (input === "r") setConfirm(true);
    },
    active,
  );
  if (!projectId) return h(Text, { dimColor: true }, "choose a project on the overview (1)");
  return h(DeploymentsView, { items: loaded.data, selected: Math.min(selected, Math.max(0, items.length - 1)), height, message: message ?? loaded.error, confirm });
}
