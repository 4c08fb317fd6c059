/** Plain data for the TUI's rendering tests: a fake TuiSource answering from memory. */
import type { BuildStatus } from "../../core/build/index.ts";
import type { Deployment, DeploymentSummary } from "../../core/contracts/deployments.ts";
import type { ViewerLogLine } from "../../core/contracts/logs.ts";
import type { PipelineVersion } from "../../core/contracts/pipelines.ts";
import type { Project } from "../../core/contracts/projects.ts";
import type { Build, BuildSummary } from "../endpoints.ts";
import type { TuiSource } from "./source.ts";

const at = "2026-11-27T03:00:00.000Z";
export const WS = "11111111-1111-4111-8111-111111111111";
export const PROJECT = "22222222-2222-4222-8222-222222222222";
export const BUILD = "33333333-3333-4333-8333-333333333333";
export const DEPLOYMENT = "44444444-4444-4444-8444-444444444444";
export const NEW_PROJECT = "66666666-6666-4666-8666-666666666666";
export const NEW_BUILD = "77777777-7777-4777-8777-777777777777";

export const project: Project = {
  id: PROJECT,
  workspaceId: WS,
  name: "web",
  gitUrl: "https://github.com/acme/web.git",
  defaultBranch: "main",
  framework: "vite",
  language: "typescript",
  createdAt: at,
  updatedAt: at,
};

export const summary = (n: number, status: BuildStatus): BuildSummary => ({
  id: n === 7 ? BUILD : `33333333-3333-4333-8333-00000000000${n}`,
  projectId: PROJECT,
  number: n,
  branch: "main",
  tag: null,
  commitSha: "a".repeat(40),
  status,
  pipelineId: null,
  error: null,
  createdAt: at,
  queuedAt: at,
  startedAt: at,
  completedAt: status === "running" ? null : at,
});

export const build: Build = {
  ...summary(7, "running"),
  jobs: [
    {
      id: `${BUILD}.0`,
      name: "plan",
      kind: "plan",
      status: "succeeded",
      exitCode: 0,
      attempt: 1,
      startedAt: at,
      completedAt: at,
      steps: [],
      labels: [],
      waiting: null,
    },
    {
      id: `${BUILD}.1`,
      name: "build",
      kind: "steps",
      status: "running",
      exitCode: null,
      attempt: 1,
      startedAt: at,
      completedAt: null,
      steps: [
        { id: "install", name: "install", status: "succeeded", exitCode: 0, startedAt: at, finishedAt: at },
        { id: "test", name: "test", status: "running", exitCode: null, startedAt: at, finishedAt: null },
        { id: "build", name: "build", status: "pending", exitCode: null, startedAt: null, finishedAt: null },
      ],
      labels: ["linux"],
      waiting: null,
    },
  ],
} as Build;

export const pipeline = {
  id: "55555555-5555-4555-8555-555555555555",
  version: 3,
  source: "detect",
  contentHash: "h",
  createdBy: null,
  createdAt: at,
  sparkiYml: null,
  configuration: {
    version: 1,
    name: "web",
    triggers: { branches: ["main"], pullRequests: true },
    env: {},
    stages: [{ name: "build", jobs: ["install", "compile"] }],
    jobs: [
      {
        id: "install",
        name: "install",
        stage: "build",
        app: ".",
        needs: [],
        runsOn: ["linux"],
        workingDirectory: ".",
        timeoutMinutes: 30,
        env: {},
        cache: null,
        steps: [{ name: "npm ci", run: "npm ci" }],
        artifacts: [],
      },
      {
        id: "compile",
        name: "compile",
        stage: "build",
        app: ".",
        needs: ["install"],
        runsOn: ["linux"],
        workingDirectory: ".",
        timeoutMinutes: 30,
        env: {},
        cache: null,
        steps: [{ name: "build", run: "npm run build" }],
        artifacts: ["dist"],
      },
    ],
  },
} as unknown as PipelineVersion;

export const deploymentSummary: DeploymentSummary = {
  id: DEPLOYMENT,
  projectId: PROJECT,
  buildId: BUILD,
  commitSha: "b".repeat(40),
  branch: "main",
  status: "awaiting_approval",
  reason: null,
  trigger: "push",
  pullRequest: null,
  createdAt: at,
  completedAt: null,
};
export const deploymentOf = (status: Deployment["status"]): Deployment => ({ ...deploymentSummary, status, stages: [], events: [] });

export interface FakeSource extends TuiSource {
  calls: string[];
  /** Push log lines and statuses to the open log stream. */
  emit(lines: ViewerLogLine[], status?: BuildStatus): void;
}

export function fakeSource(): FakeSource {
  const calls: string[] = [];
  let sink: ((l: ViewerLogLine[]) => void) | undefined;
  let statusSink: ((s: BuildStatus) => void) | undefined;
  const projects = [project];
  return {
    url: "http://127.0.0.1:8787",
    calls,
    me: async () => ({
      user: { id: WS, email: "me@sparki.test", name: "Me", createdAt: at },
      workspaces: [{ id: WS, name: "Acme", slug: "acme", role: "owner" }],
    }),
    projects: async () => [...projects],
    builds: async () => [build, summary(6, "failed"), summary(5, "succeeded")],
    build: async () => build,
    pipeline: async () => pipeline,
    deployments: async () => [deploymentSummary],
    createProject: async (ws, body) => {
      calls.push(`create ${ws} ${body.name} ${body.gitUrl}`);
      if (body.name === "taken") throw new Error("A project with this name already exists.");
      const created = { ...project, id: NEW_PROJECT, name: body.name, gitUrl: body.gitUrl };
      projects.push(created);
      return created;
    },
    triggerBuild: async (p) => (calls.push(`trigger ${p}`), { ...summary(8, "queued"), id: NEW_BUILD }),
    deploy: async (id) => (calls.push(`deploy ${id}`), deploymentOf("deploying")),
    approve: async (id) => (calls.push(`approve ${id}`), deploymentOf("deploying")),
    rollback: async (id) => (calls.push(`rollback ${id}`), deploymentOf("rolling_back")),
    cancelBuild: async (id) => (calls.push(`cancel ${id}`), { ...build, status: "cancelled" }),
    retryBuild: async (id) => (calls.push(`retry ${id}`), build),
    useWorkspace: async (id) => void calls.push(`use ${id}`),
    followLog: (buildId, onLines, onStatus) => {
      calls.push(`follow ${buildId}`);
      sink = onLines;
      statusSink = onStatus;
      return () => (sink = undefined);
    },
    emit: (lines, status) => {
      sink?.(lines);
      if (status) statusSink?.(status);
    },
  };
}
