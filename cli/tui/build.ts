import { Box, Text } from "ink";
import { useState, type ReactNode } from "react";
import { BUILD_FINISHED } from "../../core/build/index.ts";
import type { Build } from "../endpoints.ts";
import { duration } from "../output.ts";
import type { TuiSource } from "./source.ts";
import { h, StatusText, useLoad, useKeys } from "./ui.ts";

const DONE = new Set(["succeeded", "failed", "cancelled", "timed_out", "skipped"]);

/** `[████░░░░] 2/4` for the finished share of a job's steps. */
export function progressBar(done: number, total: number, width = 10): string {
  const filled = total ? Math.round((done / total) * width) : 0;
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total}`;
}

/** A build's jobs and steps with their status and progress (pure view). */
export function BuildView({ build, height, message }: { build: Build | undefined; height: number; message?: string }): ReactNode {
  if (!build) return h(Text, { dimColor: true }, message ?? "loading…");
  const rows: ReactNode[] = [];
  for (const job of build.jobs) {
    const done = job.steps.filter((s) => DONE.has(s.status)).length;
    rows.push(
      h(
        Box,
        { key: job.id },
        h(Box, { width: 24 }, h(Text, { bold: true, wrap: "truncate" }, job.name)),
        h(Box, { width: 16 }, h(StatusText, { status: job.status })),
        h(Text, null, `${progressBar(done, job.steps.length)}  ${duration(job.startedAt, job.completedAt)}`),
      ),
    );
    for (const s of job.steps)
      rows.push(
        h(
          Box,
          { key: `${job.id}/${s.id}` },
          h(Box, { width: 24 }, h(Text, { wrap: "truncate" }, `  ${s.name}`)),
          h(Box, { width: 16 }, h(StatusText, { status: s.status })),
          h(Text, { dimColor: true }, `${s.exitCode === null ? "" : `exit ${s.exitCode}  `}${s.startedAt ? duration(s.startedAt, s.finishedAt) : ""}`),
        ),
      );
  }
  return h(
    Box,
    { flexDirection: "column", height },
    h(
      Box,
      null,
      h(Text, { bold: true }, `Build #${build.number}  `),
      h(StatusText, { status: build.status }),
      h(
        Text,
        null,
        `  ${build.tag ? `tag ${build.tag}` : build.branch} ${build.commitSha?.slice(0, 8) ?? ""}  ${duration(build.startedAt, build.completedAt)}`,
      ),
    ),
    build.error ? h(Text, { color: "red", wrap: "truncate" }, build.error) : null,
    ...(rows.length ? rows.slice(0, height - 3) : [h(Text, { key: "none", dimColor: true }, "no jobs yet (waiting for a runner)")]),
    message ? h(Text, { color: "yellow" }, message) : null,
  );
}

export function BuildScreen({
  source,
  buildId,
  active,
  height,
  onLogs,
}: {
  source: TuiSource;
  buildId: string | undefined;
  active: boolean;
  height: number;
  onLogs(): void;
}): ReactNode {
  const [message, setMessage] = useState<string>();
  const loaded = useLoad(buildId, () => source.build(buildId ?? ""), 1_500);
  const finished = loaded.data ? BUILD_FINISHED.has(loaded.data.status) : false;
  useKeys((input) => {
    if (!buildId) return;
    if (input === "l") onLogs();
    const act = input === "c" ? source.cancelBuild : input === "r" ? source.retryBuild : undefined;
    if (!act) return;
    if (input === "r" && !finished) return setMessage("retry is for a finished build");
    act(buildId).then(
      (b) => (setMessage(`build is ${b.status}`), loaded.reload()),
      (e: Error) => setMessage(e.message),
    );
  }, active);
  if (!buildId) return h(Text, { dimColor: true }, "choose a build on the overview (1): Tab to the builds, Enter");
  return h(BuildView, { build: loaded.data, height, message: message ?? loaded.error });
}
