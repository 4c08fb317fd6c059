import { Box, Text } from "ink";
import { useState, type ReactNode } from "react";
import type { PipelineVersion } from "../../core/contracts/pipelines.ts";
import type { TuiSource } from "./source.ts";
import { h, useLoad, useKeys } from "./ui.ts";

/** The lines of a pipeline: stages, their jobs (with needs) and each job's steps. */
export function pipelineLines(p: PipelineVersion): Array<{ text: string; kind: "stage" | "job" | "step" }> {
  const out: Array<{ text: string; kind: "stage" | "job" | "step" }> = [];
  const jobs = new Map(p.configuration.jobs.map((j) => [j.id, j]));
  for (const stage of p.configuration.stages) {
    out.push({ text: `${stage.name}`, kind: "stage" });
    for (const id of stage.jobs) {
      const job = jobs.get(id);
      if (!job) continue;
      out.push({
        text: `  ${job.name}${job.needs.length ? `  (needs ${job.needs.join(", ")})` : ""}${job.runsOn.length ? `  [${job.runsOn.join(",")}]` : ""}`,
        kind: "job",
      });
      for (const step of job.steps) out.push({ text: `    ${step.name}: ${step.run}`, kind: "step" });
    }
  }
  return out;
}

export function PipelineView({
  pipeline,
  projectName,
  top,
  height,
  error,
}: {
  pipeline: PipelineVersion | undefined;
  projectName: string;
  top: number;
  height: number;
  error?: string;
}): ReactNode {
  if (error) return h(Text, { color: "red" }, error);
  if (!pipeline) return h(Text, { dimColor: true }, "loading…");
  const lines = pipelineLines(pipeline);
  return h(
    Box,
    { flexDirection: "column", height },
    h(Text, { bold: true, color: "cyan" }, `Pipeline of ${projectName}  v${pipeline.version} (${pipeline.source})  ${pipeline.configuration.jobs.length} jobs`),
    ...lines
      .slice(top, top + height - 1)
      .map((l, i) => h(Text, { key: top + i, wrap: "truncate", bold: l.kind === "stage", dimColor: l.kind === "step" }, l.text)),
  );
}

export function PipelineScreen({
  source,
  projectId,
  projectName,
  active,
  height,
}: {
  source: TuiSource;
  projectId: string | undefined;
  projectName: string;
  active: boolean;
  height: number;
}): ReactNode {
  const loaded = useLoad(projectId, () => source.pipeline(projectId ?? ""));
  const [top, setTop] = useState(0);
  const total = loaded.data ? pipelineLines(loaded.data).length : 0;
  useKeys((input, key) => {
    if (key.downArrow || input === "j") setTop((t) => Math.max(0, Math.min(total - height + 1, t + 1)));
    if (key.upArrow || input === "k") setTop((t) => Math.max(0, t - 1));
  }, active);
  if (!projectId) return h(Text, { dimColor: true }, "choose a project on the overview (1)");
  const error =
    loaded.error?.includes("404") || loaded.error?.toLowerCase().includes("no pipeline")
      ? `${loaded.error} (a build or 'sparki detect' makes the first one)`
      : loaded.error;
  return h(PipelineView, { pipeline: loaded.data, projectName, top, height, error });
}
