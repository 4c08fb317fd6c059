/** Typed calls to the REST API, one per route the CLI and TUI use (schemas from core/contracts). */
import { z } from "zod";
import { ApiToken, CreatedToken, MeResponse, SignupAccepted, TokenSession } from "../core/contracts/auth.ts";
import type { Scope } from "../core/scopes.ts";
import { Build, BuildSummary } from "../core/contracts/builds.ts";
import { pageOf } from "../core/contracts/common.ts";
import { Deployment, DeploymentSummary } from "../core/contracts/deployments.ts";
import { Project } from "../core/contracts/projects.ts";
import { StageRule, StageRuleList, type PutStageRuleBody } from "../core/contracts/stage-rules.ts";
import { Workspace } from "../core/contracts/workspaces.ts";
import { ApiError, EXIT, type ApiClient } from "./api.ts";
import { UserError } from "../node/user-error.ts";

// The route files declare these two inline; the same shapes here.
export const Secret = z.object({ name: z.string(), createdAt: z.string(), updatedAt: z.string() });
export const Runner = z.object({
  id: z.uuid(),
  name: z.string(),
  labels: z.array(z.string()),
  version: z.string(),
  lastSeenAt: z.string().nullable(),
  createdAt: z.string(),
});
export type Runner = z.infer<typeof Runner>;
export type BuildSummary = z.infer<typeof BuildSummary>;
export type Build = z.infer<typeof Build>;
export type Me = z.infer<typeof MeResponse>;

const enc = encodeURIComponent;
const isUuid = (s: string) => z.uuid().safeParse(s).success;

export const login = (api: ApiClient, email: string, password: string) =>
  api.call("POST", "/v1/auth/login", TokenSession, { body: { email, password, session: "token" }, auth: false });
/** Answers the same whether or not the email was registered: log in next. */
export const signup = (api: ApiClient, body: { email: string; password: string; name: string }) =>
  api.call("POST", "/v1/auth/signup", SignupAccepted, { body, auth: false });
export const createToken = (api: ApiClient, name: string, options: { expiresInDays?: number; scope?: Scope } = {}) =>
  api.call("POST", "/v1/tokens", CreatedToken, { body: { name, ...options } });
export const tokens = (api: ApiClient) => api.call("GET", "/v1/tokens", z.object({ items: z.array(ApiToken) }));
export const revokeToken = (api: ApiClient, id: string) => api.send("DELETE", `/v1/tokens/${enc(id)}`);
export const endSession = (api: ApiClient, refreshToken: string) => api.send("POST", "/v1/auth/logout", { refreshToken });
export const me = (api: ApiClient) => api.call("GET", "/v1/me", MeResponse);
export const createWorkspace = (api: ApiClient, name: string) => api.call("POST", "/v1/workspaces", Workspace, { body: { name } });
export const runners = (api: ApiClient, workspaceId: string) =>
  api.call("GET", `/v1/workspaces/${enc(workspaceId)}/runners`, z.object({ items: z.array(Runner) }));

export const projects = (api: ApiClient, workspaceId: string) =>
  api.call("GET", `/v1/workspaces/${enc(workspaceId)}/projects`, pageOf(Project), { query: { limit: 100 } });
export const project = (api: ApiClient, id: string) => api.call("GET", `/v1/projects/${enc(id)}`, Project);
export const createProject = (api: ApiClient, workspaceId: string, body: { name: string; gitUrl: string; defaultBranch?: string }) =>
  api.call("POST", `/v1/workspaces/${enc(workspaceId)}/projects`, Project, { body });
export const importGitHubProject = (api: ApiClient, workspaceId: string, body: { repository: string; name?: string }) =>
  api.call("POST", `/v1/workspaces/${enc(workspaceId)}/projects/github`, Project, { body });
/** Its schema pulls in the detector's, so it is loaded only when asked for (the TUI). */
export async function pipeline(api: ApiClient, projectId: string) {
  const { PipelineVersion } = await import("../core/contracts/pipelines.ts");
  return api.call("GET", `/v1/projects/${enc(projectId)}/pipeline`, PipelineVersion);
}

export const builds = (api: ApiClient, projectId: string, query: { status?: string; branch?: string; limit?: number } = {}) =>
  api.call("GET", `/v1/projects/${enc(projectId)}/builds`, pageOf(BuildSummary), { query: { limit: 25, ...query } });
export const build = (api: ApiClient, id: string) => api.call("GET", `/v1/builds/${enc(id)}`, Build);
export const triggerBuild = (api: ApiClient, projectId: string, body: { branch?: string; commitSha?: string }) =>
  api.call("POST", `/v1/projects/${enc(projectId)}/builds`, BuildSummary, { body });
export const cancelBuild = (api: ApiClient, id: string) => api.call("POST", `/v1/builds/${enc(id)}/cancel`, Build);
export const retryBuild = (api: ApiClient, id: string) => api.call("POST", `/v1/builds/${enc(id)}/retry`, Build);

export const secrets = (api: ApiClient, projectId: string) => api.call("GET", `/v1/projects/${enc(projectId)}/secrets`, z.object({ items: z.array(Secret) }));
export const setSecret = (api: ApiClient, projectId: string, name: string, value: string) =>
  api.call("PUT", `/v1/projects/${enc(projectId)}/secrets/${enc(name)}`, Secret, { body: { value } });
export const removeSecret = (api: ApiClient, projectId: string, name: string) => api.send("DELETE", `/v1/projects/${enc(projectId)}/secrets/${enc(name)}`);

export const deployBuild = (api: ApiClient, buildId: string, stage?: string) =>
  api.call("POST", `/v1/builds/${enc(buildId)}/deploy`, Deployment, { body: stage ? { stage } : {} });
export const deployment = (api: ApiClient, id: string) => api.call("GET", `/v1/deployments/${enc(id)}`, Deployment);
export const deployments = (api: ApiClient, projectId: string, query: { status?: string; limit?: number } = {}) =>
  api.call("GET", `/v1/projects/${enc(projectId)}/deployments`, pageOf(DeploymentSummary), { query: { limit: 25, ...query } });
export const approveDeployment = (api: ApiClient, id: string) => api.call("POST", `/v1/deployments/${enc(id)}/approve`, Deployment, { body: {} });
export const cancelDeployment = (api: ApiClient, id: string) => api.call("POST", `/v1/deployments/${enc(id)}/cancel`, Deployment, { body: {} });
export const rollbackDeployment = (api: ApiClient, id: string, toDeploymentId?: string) =>
  api.call("POST", `/v1/deployments/${enc(id)}/rollback`, Deployment, { body: toDeploymentId ? { toDeploymentId } : {} });

export const stageRules = (api: ApiClient, projectId: string) => api.call("GET", `/v1/projects/${enc(projectId)}/stage-rules`, StageRuleList);
export const setStageRule = (api: ApiClient, projectId: string, stage: string, body: PutStageRuleBody) =>
  api.call("PUT", `/v1/projects/${enc(projectId)}/stage-rules/${enc(stage)}`, StageRule, { body });
export const removeStageRule = (api: ApiClient, projectId: string, stage: string) =>
  api.send("DELETE", `/v1/projects/${enc(projectId)}/stage-rules/${enc(stage)}`);

/** The current workspace: the flag, SPARKI_WORKSPACE, the saved one, or the caller's only one. */
export async function requireWorkspace(api: ApiClient, chosen: string | undefined): Promise<string> {
  const mine = await me(api);
  if (chosen) {
    const found = mine.workspaces.find((w) => w.id === chosen || w.slug === chosen || w.name === chosen);
    if (!found) throw new UserError(`no workspace ${chosen} among yours; see 'sparki workspaces list'`, EXIT.notFound);
    return found.id;
  }
  if (mine.workspaces.length === 1 && mine.workspaces[0]) return mine.workspaces[0].id;
  throw new UserError(
    mine.workspaces.length === 0
      ? "you have no workspace yet; create one: 'sparki workspaces create NAME'"
      : "choose a workspace: 'sparki workspaces use ID' or --workspace ID",
    EXIT.usage,
  );
}

/** A project by id, or by name in the current workspace. */
export async function resolveProject(api: ApiClient, ref: string | undefined, workspaceId: string | undefined): Promise<string> {
  if (!ref) throw new UserError("which project? give --project ID or NAME", EXIT.usage);
  if (isUuid(ref)) return ref;
  const ws = await requireWorkspace(api, workspaceId);
  const found = (await projects(api, ws)).items.find((p) => p.name === ref);
  if (!found) throw new ApiError(404, `no project named ${ref} in this workspace; see 'sparki projects list'`);
  return found.id;
}

/** An id argument that must be a UUID: anything else could never be found (exit 4, like a 404). */
export function requireId(kind: string, id: string): string {
  if (!isUuid(id)) throw new ApiError(404, `no ${kind} ${id} (${kind} ids are UUIDs)`);
  return id;
}
