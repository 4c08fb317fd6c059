import type { BuildStatus } from "../../core/build/index.ts";
import type { Deployment, DeploymentSummary } from "../../core/contracts/deployments.ts";
import type { ViewerLogLine } from "../../core/contracts/logs.ts";
import type { PipelineVersion } from "../../core/contracts/pipelines.ts";
import type { Project } from "../../core/contracts/projects.ts";
import type { ApiClient } from "../api.ts";
import * as ep from "../endpoints.ts";
import { followLog } from "../log-stream.ts";

/**
 * Everything the TUI reads and does, behind one interface: the API in real use, plain data in
 * rendering tests.
 */
export interface TuiSource {
  url: string;
  me(): Promise<ep.Me>;
  projects(workspaceId: string): Promise<Project[]>;
  builds(projectId: string): Promise<ep.BuildSummary[]>;
  build(id: string): Promise<ep.Build>;
  pipeline(projectId: string): Promise<PipelineVersion>;
  deployments(projectId: string): Promise<DeploymentSummary[]>;
  createProject(workspaceId: string, body: { name: string; gitUrl: string }): Promise<Project>;
  triggerBuild(projectId: string): Promise<ep.BuildSummary>;
  deploy(buildId: string): Promise<Deployment>;
  approve(deploymentId: string): Promise<Deployment>;
  rollback(deploymentId: string): Promise<Deployment>;
  cancelBuild(id: string): Promise<ep.Build>;
  retryBuild(id: string): Promise<ep.Build>;
  /** Saves the current workspace (the settings screen). */
  useWorkspace(id: string): Promise<void>;
  /** Streams a build's log from line 1; returns a function that stops it. */
  followLog(buildId: string, onLines: (lines: ViewerLogLine[]) => void, onStatus: (s: BuildStatus) => void, onError: (message: string) => void): () => void;
}

export function apiSource(api: ApiClient, saveWorkspace: (id: string) => Promise<void>): TuiSource {
  return {
    url: api.url,
    me: () => ep.me(api),
    projects: async (ws) => (await ep.projects(api, ws)).items,
    builds: async (p) => (await ep.builds(api, p, { limit: 20 })).items,
    build: (id) => ep.build(api, id),
    pipeline: (p) => ep.pipeline(api, p),
    deployments: async (p) => (await ep.deployments(api, p, { limit: 20 })).items,
    createProject: (ws, body) => ep.createProject(api, ws, body),
    triggerBuild: (p) => ep.triggerBuild(api, p, {}),
    deploy: (id) => ep.deployBuild(api, id),
    approve: (id) => ep.approveDeployment(api, id),
    rollback: (id) => ep.rollbackDeployment(api, id),
    cancelBuild: (id) => ep.cancelBuild(api, id),
    retryBuild: (id) => ep.retryBuild(api, id),
    useWorkspace: saveWorkspace,
    followLog: (buildId, onLines, onStatus, onError) => {
      const stop = new AbortController();
      followLog({
        socketUrl: api.socketUrl(`/v1/builds/${encodeURIComponent(buildId)}/logs`),
        token: api.requireToken(),
        onLines,
        onStatus,
        signal: stop.signal,
      }).catch((err: Error) => {
        if (!stop.signal.aborted) onError(err.message);
      });
      return () => stop.abort();
    },
  };
}
