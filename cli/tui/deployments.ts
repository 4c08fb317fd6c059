import { Box, Text } from "ink";
import { useState, type ReactNode } from "react";
import type { DeploymentSummary } from "../../core/contracts/deployments.ts";
import type { BuildSummary } from "../endpoints.ts";
import { ago } from "../output.ts";
import type { TuiSource } from "./source.ts";
import { h, List, pad, short, StatusText, useLoad, useKeys } from "./ui.ts";

type Confirm = "deploy" | "rollback" | undefined;

const describe = (b: BuildSummary) => `build #${b.number} (${b.branch} ${b.commitSha?.slice(0, 7) ?? ""})`;

export interface DeploymentsViewProps {
  items: DeploymentSummary[] | undefined;
  selected: number;
  height: number;
  message?: string;
  confirm?: Confirm;
  /** The build `d` deploys: the selected one when it succeeded, else the newest that did. */
  target?: BuildSummary | null;
}

export function DeploymentsView({ items, selected, height, message, confirm, target }: DeploymentsViewProps): ReactNode {
  return h(
    Box,
    { flexDirection: "column", height },
    h(Text, { bold: true, color: "cyan" }, "Deployments  (d deploy, a approve, r rollback)"),
    target === undefined ? null : h(Text, { dimColor: true, wrap: "truncate" }, target ? `d deploys ${describe(target)}` : "no succeeded build to deploy yet"),
    items
      ? h(List, {
          rows: items.map((d) =>
            h(
              Box,
              { key: d.id },
              h(Text, null, `${short(d.id)}  `),
              h(Box, { width: 22 }, h(StatusText, { status: d.status })),
              h(Text, { wrap: "truncate" }, `${pad(d.branch, 12)} ${d.commitSha?.slice(0, 7) ?? "-"}  ${d.trigger.padEnd(6)} ${ago(d.createdAt)}`),
            ),
          ),
          selected,
          height: height - 4,
          empty: "no deployments",
        })
      : h(Text, { dimColor: true }, message ? "" : "loading…"),
    confirm === "rollback"
      ? h(Text, { color: "yellow" }, "Roll back this deployment? y to confirm, any other key to keep it")
      : confirm === "deploy" && target
        ? h(Text, { color: "yellow", wrap: "truncate" }, `Deploy ${describe(target)}? y to confirm, any other key to cancel`)
        : message
          ? h(Text, { color: "yellow", wrap: "truncate" }, message)
          : null,
  );
}

export interface DeploymentsScreenProps {
  source: TuiSource;
  projectId: string | undefined;
  /** The build chosen on the overview, if any. */
  buildId?: string;
  active: boolean;
  height: number;
}

export function DeploymentsScreen({ source, projectId, buildId, active, height }: DeploymentsScreenProps): ReactNode {
  const loaded = useLoad(projectId, () => source.deployments(projectId ?? ""), 3_000);
  const builds = useLoad(projectId, () => source.builds(projectId ?? ""), 3_000);
  const [selected, setSelected] = useState(0);
  const [message, setMessage] = useState<string>();
  const [confirm, setConfirm] = useState<Confirm>();
  const items = loaded.data ?? [];
  const current = items[Math.min(selected, items.length - 1)];
  const succeeded = (builds.data ?? []).filter((b) => b.status === "succeeded");
  const target = builds.data ? (succeeded.find((b) => b.id === buildId) ?? succeeded[0] ?? null) : undefined;
  const run = (what: string, p: Promise<{ status: string }>) =>
    p.then(
      (d) => (setMessage(`${what}: now ${d.status}`), setSelected(0), loaded.reload()),
      (e: Error) => setMessage(`${what} failed: ${e.message}`),
    );
  useKeys((input, key) => {
    if (confirm) {
      setConfirm(undefined);
      if (input !== "y") setMessage(`${confirm} not done`);
      else if (confirm === "deploy" && target) void run("deploy", source.deploy(target.id));
      else if (confirm === "rollback" && current) void run("rollback", source.rollback(current.id));
      return;
    }
    if (key.downArrow || input === "j") setSelected((s) => Math.min(items.length - 1, s + 1));
    else if (key.upArrow || input === "k") setSelected((s) => Math.max(0, s - 1));
    else if (input === "d") {
      if (target) setConfirm("deploy");
      else setMessage(target === null ? "no succeeded build to deploy: build first (overview, b)" : "loading the builds…");
    } else if (!current) return;
    else if (input === "a") void run("approve", source.approve(current.id));
    else if (input === "r") setConfirm("rollback");
  }, active);
  if (!projectId) return h(Text, { dimColor: true }, "choose a project on the overview (1)");
  return h(DeploymentsView, {
    items: loaded.data,
    selected: Math.min(selected, Math.max(0, items.length - 1)),
    height,
    message: message ?? loaded.error,
    confirm,
    target,
  });
}
