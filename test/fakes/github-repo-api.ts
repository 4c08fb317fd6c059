/**
 * The GitHub fake's `/repos/{owner}/{repo}` endpoints: the repository, check runs and deployments
 * with their statuses, validated as GitHub documents them:
 * - a private repository the token cannot reach is a 404 (GitHub never confirms it exists); a
 *   reachable one without the permission is a 403 "Resource not accessible by integration";
 * - check runs: `conclusion` completes the run; `status: completed` or `completed_at` without a
 *   conclusion, or a conclusion beside another status, is a 422; output needs title and summary,
 *   each text at most 65,535 characters; only an app creates them (installation tokens);
 * - deployments: `ref` must resolve (a branch, tag or full SHA); without `required_contexts: []`
 *   every check run on the commit must have succeeded (else 409, as GitHub's commit status check);
 *   statuses take state, environment_url, log_url, environment, a description of at most 140
 *   characters, and `auto_inactive` marks earlier successful deployments of the environment inactive.
 */
import type { FakeRepo, FakeUser, Urls } from "./github-views.ts";
import { nodeId, repoView, userView } from "./github-views.ts";

type Send = (status: number, payload: unknown, headers?: Record<string, string | number>) => void;
type GrantLike =
  | { kind: "installation"; installationId: number; repositoryIds: number[] | null; permissions: Record<string, string>; expiresAt: number }
  | { kind: "user"; login: string; appId: number; expiresAt: number }
  | { kind: "app"; appId: number };

/** What the endpoints need of the fake. */
export interface RepoApiState {
  repos: Map<string, FakeRepo>;
  installations: Map<number, { appId: number }>;
  apps: Map<number, { id: number; slug: string; name: string; owner: string }>;
  urls: Urls;
  nextId(): number;
  user(login: string): FakeUser;
  grantRepos(g: GrantLike): FakeRepo[];
  can(g: GrantLike, permission: string, level: "read" | "write"): boolean;
}

export interface FakeCheckRun {
  id: number;
  repoId: number;
  appId: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  details_url: string | null;
  external_id: string | null;
  started_at: string | null;
  completed_at: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
}

export interface FakeDeployment {
  id: number;
  repoId: number;
  appId: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  original_environment: string;
  description: string | null;
  payload: unknown;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  statuses: FakeDeploymentStatus[];
}

export interface FakeDeploymentStatus {
  id: number;
  state: string;
  description: string;
  environment: string;
  environment_url: string;
  log_url: string;
  target_url: string;
  created_at: string;
}

const DOCS = "https://docs.github.com/rest";
const SHA = /^[0-9a-f]{40}$/;
const STATUSES = ["queued", "in_progress", "completed"];
const CONCLUSIONS = ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"];
const STATES = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"];
const MAX_TEXT = 65_535;
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** The store and the handler; `checkRuns` and `deployments` are public for tests to read. */
export function repoApi(gh: RepoApiState) {
  const checkRuns = new Map<number, FakeCheckRun>();
  const deployments = new Map<number, FakeDeployment>();
  const error = (send: Send, status: number, message: string, extra: Record<string, unknown> = {}): void =>
    send(status, { message, documentation_url: DOCS, status: String(status), ...extra });

  const appView = (appId: number): Record<string, unknown> => {
    const a = gh.apps.get(appId);
    return { id: appId, slug: a?.slug, name: a?.name, owner: a ? userView(gh.user(a.owner), gh.urls) : null };
  };
  const botView = (appId: number): Record<string, unknown> => {
    const slug = gh.apps.get(appId)?.slug ?? "app";
    return { login: `${slug}[bot]`, id: appId + 1_000_000, node_id: nodeId("Bot", appId), type: "Bot", site_admin: false };
  };
  const checkView = (r: FakeRepo, c: FakeCheckRun): Record<string, unknown> => ({
    id: c.id,
    head_sha: c.head_sha,
    node_id: nodeId("CheckRun", c.id),
    external_id: c.external_id,
    url: `${gh.urls.api}/repos/${r.owner}/${r.name}/check-runs/${c.id}`,
    html_url: `${gh.urls.web}/${r.owner}/${r.name}/runs/${c.id}`,
    details_url: c.details_url,
    status: c.status,
    conclusion: c.conclusion,
    started_at: c.started_at,
    completed_at: c.completed_at,
    output: { ...c.output, annotations_count: 0, annotations_url: `${gh.urls.api}/repos/${r.owner}/${r.name}/check-runs/${c.id}/annotations` },
    name: c.name,
    check_suite: { id: c.repoId * 10 },
    app: appView(c.appId),
    pull_requests: [],
  });
  const deploymentView = (r: FakeRepo, d: FakeDeployment): Record<string, unknown> => ({
    url: `${gh.urls.api}/repos/${r.owner}/${r.name}/deployments/${d.id}`,
    id: d.id,
    node_id: nodeId("Deployment", d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.original_environment,
    environment: d.environment,
    description: d.description,
    creator: botView(d.appId),
    created_at: d.created_at,
    updated_at: d.statuses.at(-1)?.created_at ?? d.created_at,
    statuses_url: `${gh.urls.api}/repos/${r.owner}/${r.name}/deployments/${d.id}/statuses`,
    repository_url: `${gh.urls.api}/repos/${r.owner}/${r.name}`,
    transient_environment: d.transient_environment,
    production_environment: d.production_environment,
    performed_via_github_app: appView(d.appId),
  });
  const statusView = (r: FakeRepo, d: FakeDeployment, s: FakeDeploymentStatus): Record<string, unknown> => ({
    url: `${gh.urls.api}/repos/${r.owner}/${r.name}/deployments/${d.id}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId("DeploymentStatus", s.id),
    state: s.state,
    creator: botView(d.appId),
    description: s.description,
    environment: s.environment,
    target_url: s.target_url,
    created_at: s.created_at,
    updated_at: s.created_at,
    deployment_url: `${gh.urls.api}/repos/${r.owner}/${r.name}/deployments/${d.id}`,
    repository_url: `${gh.urls.api}/repos/${r.owner}/${r.name}`,
    environment_url: s.environment_url,
    log_url: s.log_url,
    performed_via_github_app: appView(d.appId),
  });

  /** Check run fields as GitHub validates them; a message for a 422, or the changes. */
  const checkFields = (b: Record<string, unknown>, creating: boolean): string | Partial<FakeCheckRun> => {
    const out: Partial<FakeCheckRun> = {};
    const str = (k: string): boolean => b[k] === undefined || typeof b[k] === "string";
    for (const k of ["name", "head_sha", "details_url", "external_id", "status", "conclusion", "started_at", "completed_at"])
      if (!str(k)) return `Invalid request.\n\n\`${k}\` is not a string.`;
    if (creating && (typeof b.name !== "string" || b.name === "")) return 'Invalid request.\n\n"name" wasn\'t supplied.';
    if (creating && typeof b.head_sha !== "string") return 'Invalid request.\n\n"head_sha" wasn\'t supplied.';
    if (b.name !== undefined) out.name = b.name as string;
    if (b.status !== undefined && !STATUSES.includes(b.status as string))
      return `Invalid request.\n\n${JSON.stringify(b.status)} is not a member of ${JSON.stringify(STATUSES)}.`;
    if (b.conclusion !== undefined && b.conclusion !== null && !CONCLUSIONS.includes(b.conclusion as string))
      return `Invalid request.\n\n${JSON.stringify(b.conclusion)} is not a member of ${JSON.stringify(CONCLUSIONS)}.`;
    const conclusion = (b.conclusion as string | null | undefined) ?? null;
    if (b.status === "completed" && !conclusion) return "Invalid request.\n\n`conclusion` is required when `status` is `completed`.";
    if (b.completed_at !== undefined && !conclusion) return "Invalid request.\n\n`conclusion` is required when `completed_at` is set.";
    if (conclusion && b.status !== undefined && b.status !== "completed")
      return "Invalid request.\n\n`conclusion` can only be set when `status` is `completed`.";
    if (b.details_url !== undefined && !/^https?:\/\/[^\s]+$/.test(b.details_url as string)) return "Invalid request.\n\n`details_url` is not a URL.";
    if (b.details_url !== undefined) out.details_url = b.details_url as string;
    if (b.external_id !== undefined) out.external_id = b.external_id as string;
    if (b.started_at !== undefined) out.started_at = b.started_at as string;
    if (b.output !== undefined) {
      const o = b.output as Record<string, unknown> | null;
      if (typeof o !== "object" || o === null || typeof o.title !== "string" || typeof o.summary !== "string")
        return "Invalid request.\n\n`output` needs `title` and `summary`.";
      if (o.text !== undefined && typeof o.text !== "string") return "Invalid request.\n\n`output.text` is not a string.";
      if (o.summary.length > MAX_TEXT || ((o.text as string | undefined)?.length ?? 0) > MAX_TEXT)
        return `Invalid request.\n\nOnly ${MAX_TEXT} characters are allowed; ${Math.max(o.summary.length, (o.text as string | undefined)?.length ?? 0)} were supplied.`;
      out.output = { title: o.title, summary: o.summary, text: (o.text as string | undefined) ?? null };
    }
    if (conclusion) {
      out.status = "completed";
      out.conclusion = conclusion;
      out.completed_at = (b.completed_at as string | undefined) ?? now();
    } else if (b.status !== undefined) {
      out.status = b.status as string;
      out.conclusion = null;
      out.completed_at = null;
      if (b.status === "in_progress" && b.started_at === undefined) out.started_at = now();
    }
    return out;
  };

  const resolveRef = (r: FakeRepo, ref: string): string | null => {
    if (SHA.test(ref)) return ref;
    const name = ref.replace(/^refs\/(heads|tags)\//, "");
    return r.refs[name] ?? null;
  };

  const handle = (method: string, path: string, query: URLSearchParams, body: unknown, grant: GrantLike | null, send: Send): void => {
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    const repo = m ? gh.repos.get(`${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`.toLowerCase()) : undefined;
    const reach = repo && grant ? gh.grantRepos(grant).includes(repo) : false;
    // GitHub answers 404 for a private repository the caller cannot see, exactly as for none.
    if (!repo || (repo.private && !reach)) return error(send, 404, "Not Found");
    const rest = m?.[3] ?? "";
    const b = (body ?? {}) as Record<string, unknown>;
    if (rest === "" && method === "GET") return send(200, repoView(repo, gh.user(repo.owner), gh.urls));
    // Everything below writes or reads app-owned things: an installation token that reaches the repository.
    if (!grant) return error(send, 401, "Requires authentication");
    if (grant.kind !== "installation") return error(send, 403, "You must authenticate via a GitHub App.");
    const appId = gh.installations.get(grant.installationId)?.appId ?? 0;
    const need = (permission: string, level: "read" | "write"): boolean => {
      if (reach && gh.can(grant, permission, level)) return true;
      error(send, 403, "Resource not accessible by integration");
      return false;
    };

    if (rest === "/check-runs" && method === "POST") {
      if (!need("checks", "write")) return;
      const f = checkFields(b, true);
      if (typeof f === "string") return error(send, 422, f);
      if (!SHA.test(b.head_sha as string)) return error(send, 422, `No commit found for SHA: ${b.head_sha}`);
      const run: FakeCheckRun = {
        id: gh.nextId(),
        repoId: repo.id,
        appId,
        name: b.name as string,
        head_sha: b.head_sha as string,
        status: "queued",
        conclusion: null,
        details_url: null,
        external_id: null,
        started_at: null,
        completed_at: null,
        output: { title: null, summary: null, text: null },
        ...f,
      };
      if (run.status !== "queued") run.started_at ??= now();
      checkRuns.set(run.id, run);
      return send(201, checkView(repo, run));
    }
    const cr = /^\/check-runs\/(\d+)$/.exec(rest);
    if (cr) {
      const run = checkRuns.get(Number(cr[1]));
      if (method === "GET") {
        if (!need("checks", "read")) return;
        if (!run || run.repoId !== repo.id) return error(send, 404, "Not Found");
        return send(200, checkView(repo, run));
      }
      if (method !== "PATCH") return error(send, 404, "Not Found");
      if (!need("checks", "write")) return;
      if (!run || run.repoId !== repo.id) return error(send, 404, "Not Found");
      if (run.appId !== appId) return error(send, 403, `Invalid app_id \`${appId}\` - check run can only be modified by the GitHub App that created it.`);
      const f = checkFields(b, false);
      if (typeof f === "string") return error(send, 422, f);
      Object.assign(run, f);
      return send(200, checkView(repo, run));
    }

    if (rest === "/deployments" && method === "GET") {
      if (!need("deployments", "read")) return;
      const list = [...deployments.values()]
        .filter((d) => d.repoId === repo.id)
        .filter((d) => ["sha", "ref", "task", "environment"].every((k) => !query.get(k) || (d as unknown as Record<string, unknown>)[k] === query.get(k)))
        .reverse();
      return send(
        200,
        list.map((d) => deploymentView(repo, d)),
      );
    }
    if (rest === "/deployments" && method === "POST") {
      if (!need("deployments", "write")) return;
      if (typeof b.ref !== "string" || b.ref === "") return error(send, 422, 'Invalid request.\n\n"ref" wasn\'t supplied.');
      if (b.description !== undefined && b.description !== null && typeof b.description !== "string")
        return error(send, 422, "Invalid request.\n\n`description` is not a string.");
      if (b.environment !== undefined && typeof b.environment !== "string") return error(send, 422, "Invalid request.\n\n`environment` is not a string.");
      const sha = resolveRef(repo, b.ref);
      if (!sha) return error(send, 422, `No ref found for: ${b.ref}`);
      const contexts = b.required_contexts;
      if (contexts !== undefined && !(Array.isArray(contexts) && contexts.every((c) => typeof c === "string")))
        return error(send, 422, "Invalid request.\n\n`required_contexts` must be an array of strings.");
      const runs = [...checkRuns.values()].filter((c) => c.repoId === repo.id && c.head_sha === sha);
      const green = (c: FakeCheckRun): boolean => c.status === "completed" && ["success", "neutral", "skipped"].includes(c.conclusion ?? "");
      const blocking =
        contexts === undefined ? runs.filter((c) => !green(c)) : (contexts as string[]).filter((n) => !runs.some((c) => c.name === n && green(c)));
      if (blocking.length > 0) return error(send, 409, `Conflict: Commit status checks failed for ${b.ref}.`);
      const environment = (b.environment as string | undefined) ?? "production";
      const d: FakeDeployment = {
        id: gh.nextId(),
        repoId: repo.id,
        appId,
        sha,
        ref: b.ref,
        task: (b.task as string | undefined) ?? "deploy",
        environment,
        original_environment: environment,
        description: (b.description as string | undefined) ?? null,
        payload: b.payload ?? {},
        transient_environment: b.transient_environment === true,
        production_environment: typeof b.production_environment === "boolean" ? b.production_environment : environment === "production",
        created_at: now(),
        statuses: [],
      };
      deployments.set(d.id, d);
      return send(201, deploymentView(repo, d));
    }
    const dm = /^\/deployments\/(\d+)(\/statuses)?$/.exec(rest);
    if (dm) {
      const d = deployments.get(Number(dm[1]));
      if (!need("deployments", method === "GET" ? "read" : "write")) return;
      if (!d || d.repoId !== repo.id) return error(send, 404, "Not Found");
      if (!dm[2] && method === "GET") return send(200, deploymentView(repo, d));
      if (dm[2] && method === "GET")
        return send(
          200,
          [...d.statuses].reverse().map((s) => statusView(repo, d, s)),
        );
      if (!dm[2] || method !== "POST") return error(send, 404, "Not Found");
      if (typeof b.state !== "string" || !STATES.includes(b.state))
        return error(send, 422, `Invalid request.\n\n${JSON.stringify(b.state)} is not a member of ${JSON.stringify(STATES)}.`);
      for (const k of ["environment_url", "log_url", "target_url", "environment", "description"])
        if (b[k] !== undefined && typeof b[k] !== "string") return error(send, 422, `Invalid request.\n\n\`${k}\` is not a string.`);
      if (((b.description as string | undefined) ?? "").length > 140)
        return error(send, 422, "Validation Failed", {
          errors: [{ resource: "DeploymentStatus", code: "custom", field: "description", message: "description is too long (maximum is 140 characters)" }],
        });
      if (b.environment !== undefined) d.environment = b.environment as string;
      const s: FakeDeploymentStatus = {
        id: gh.nextId(),
        state: b.state,
        description: (b.description as string | undefined) ?? "",
        environment: d.environment,
        environment_url: (b.environment_url as string | undefined) ?? "",
        log_url: (b.log_url as string | undefined) ?? (b.target_url as string | undefined) ?? "",
        target_url: (b.target_url as string | undefined) ?? (b.log_url as string | undefined) ?? "",
        created_at: now(),
      };
      d.statuses.push(s);
      if (s.state === "success" && b.auto_inactive !== false) {
        for (const other of deployments.values()) {
          const last = other.statuses.at(-1);
          const eligible =
            other.id !== d.id &&
            other.repoId === repo.id &&
            other.environment === d.environment &&
            !other.transient_environment &&
            !other.production_environment;
          if (eligible && last?.state === "success") other.statuses.push({ ...last, id: gh.nextId(), state: "inactive", description: "", created_at: now() });
        }
      }
      return send(201, statusView(repo, d, s));
    }
    return error(send, 404, "Not Found");
  };
  return Object.assign(handle, { checkRuns, deployments });
}
