/**
 * The runner protocol, version 2: everything a runner agent and the control plane (the API
 * Worker in front of the RunnerDispatcher and BuildCoordinator objects) say to each other.
 *
 * HTTP, JSON bodies, every request carrying `Sparki-Runner-Protocol: 2`. Two credentials:
 *   - the runner token (`srn_…`, from `register`) only claims: `Authorization: Bearer <runnerToken>`
 *     on `POST /v1/runner/claim` and `POST /v1/runner/disconnect`, refused on every job route;
 *   - each claimed {@link Job} carries a `jobToken` scoped to that job's lease (job id, lease id,
 *     fencing token, runner id). Every `/v1/runner/jobs/:id/...` call sends `Authorization: Bearer
 *     <jobToken>` and is refused for any other job, and once the lease is gone (the coordinator
 *     checks the lease on every call) or the runner was revoked. It cannot claim.
 * So a step that gets hold of its job's token can at most act on its own job.
 * Errors are problem+json (`Problem` in common.ts). The runner decides what to do from the status alone:
 *   - 429 and 5xx (and network failures): retry with full-jitter backoff, honouring Retry-After;
 *   - 409 on any `/jobs/:id/...` route: the lease is gone (stale fencing token, requeued, or the
 *     job is not held by this runner). Stop the job and report nothing more;
 *   - 401 on a job route: the job token is not valid (expired, another job's, runner revoked):
 *     stop the job as for a 409. 401 on `claim`: the runner token was revoked;
 *   - any other 4xx: a bug or bad input, do not retry.
 * Version 1 (no job tokens, claims carrying labels) is refused with a 400 naming the version.
 *
 * | route | body | answer |
 * |---|---|---|
 * | `POST /v1/runner/register` | {@link RegisterRequest} | {@link RegisterResponse} |
 * | `POST /v1/runner/claim` (long poll, ≤ 30 s) | {@link ClaimRequest} | 200 {@link Job} or 204 |
 * | `POST /v1/runner/disconnect` (the runner stops claiming, or starts again) | none | 204 |
 * | `POST /v1/runner/jobs/:id/heartbeat` | {@link HeartbeatRequest} | {@link HeartbeatResponse} |
 * | `POST /v1/runner/jobs/:id/steps/:stepId` | {@link StepUpdateRequest} | 204 |
 * | `POST /v1/runner/jobs/:id/pipeline` | {@link PipelineUploadRequest} | 204 |
 * | `PUT /v1/runner/jobs/:id/artifacts/:name` | raw bytes, {@link ArtifactUploadHeaders} | {@link ArtifactUploadResponse} |
 * | `POST /v1/runner/jobs/:id/artifacts/reserve` | {@link ArtifactReserveRequest} | {@link ArtifactReserveResponse} |
 * | `POST /v1/runner/jobs/:id/artifacts/commit` | {@link ArtifactReserveRequest} | {@link ArtifactUploadResponse} |
 * | `POST /v1/runner/jobs/:id/needs/artifacts` | {@link Lease} | {@link NeededArtifactsResponse} |
 * | `GET /v1/runner/jobs/:id/needs/artifacts/:name` | lease headers | the artifact (or a redirect to R2) |
 * | `POST /v1/runner/jobs/:id/caches/lookup` | {@link CacheLookupRequest} | {@link CacheLookupResponse} |
 * | `GET /v1/runner/jobs/:id/caches/:entryId` | lease headers | the entry's .tar.gz |
 * | `PUT /v1/runner/jobs/:id/caches` | .tar.gz, {@link CacheUploadHeaders} | {@link CacheSaveResponse} |
 * | `POST /v1/runner/jobs/:id/caches/reserve` | {@link CacheReserveRequest} | {@link CacheReserveResponse} |
 * | `POST /v1/runner/jobs/:id/caches/commit` | {@link CacheCommitRequest} | {@link CacheSaveResponse} |
 * | `POST /v1/runner/jobs/:id/complete` | {@link CompleteRequest} | 204 |
 * | `POST /v1/runner/jobs/:id/release` | {@link ReleaseRequest} | 204 |
 * | `GET /v1/runner/jobs/:id/logs` (WebSocket) | {@link RunnerLogFrame} | {@link ServerLogFrame} |
 */
import { z } from "zod";
import { Traceparent } from "../tracing/context.ts";
import { DetectionSchema } from "../detect/schema.ts";
import { PipelineSchema } from "../pipeline/schema.ts";
import { MAX_RUNTIME_LABELS, RuntimeLabel, RuntimeRequirement } from "../runtimes/labels.ts";
import { BranchName } from "./common.ts";

/** Bumped on any incompatible change; sent by the runner as {@link PROTOCOL_HEADER}. */
export const RUNNER_PROTOCOL_VERSION = 2;
export const PROTOCOL_HEADER = "Sparki-Runner-Protocol";
/** Headers that carry the lease on requests whose body is not JSON (artifacts, log socket). */
export const LEASE_ID_HEADER = "Sparki-Lease-Id";
export const FENCING_TOKEN_HEADER = "Sparki-Fencing-Token";
export const ARTIFACT_KIND_HEADER = "Sparki-Artifact-Kind";
/** The artifact's SHA-256 (hex), known to the runner before it sends: stored with it for the jobs that need it. */
export const ARTIFACT_SHA256_HEADER = "Sparki-Artifact-Sha256";
/** The key a cache upload is saved under (a header: the body is the archive). */
export const CACHE_KEY_HEADER = "Sparki-Cache-Key";
export const CACHE_SCOPE_HEADER = "Sparki-Cache-Scope";

/** Limits shared by both sides, so the runner can refuse what the server would refuse. */
export const RunnerLimits = {
  labels: 32,
  steps: 100,
  envVars: 200,
  secrets: 100,
  artifacts: 50,
  commandBytes: 64 * 1024,
  envValueBytes: 32 * 1024,
  secretValueBytes: 64 * 1024,
  maxTimeoutSeconds: 7 * 24 * 3600,
  /** A log line longer than this is cut, and the piece is sent with `partial: true`. */
  lineBytes: 16 * 1024,
  /** Lines and bytes (of text) in one `lines` frame. */
  frameLines: 1000,
  frameBytes: 1024 * 1024,
  /** Most jobs one runner may ask for at once. */
  capacity: 64,
} as const;

// The control characters C0, DEL and C1: never allowed in names and paths.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const RunnerName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-', starting with a letter or digit");

/** `linux`, `arch=arm64`, `gpu`: matched exactly against a job's `runsOn`. */
export const RunnerLabel = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._:=-]*$/, "lowercase letters, digits and . _ : = -");
export const RunnerLabels = z.array(RunnerLabel).max(RunnerLimits.labels);

/** A step id: stable, safe in a URL path segment and as a log `step`. */
export const StepId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, '_' and '-'");

/**
 * Log lines the runner writes itself use these pseudo-steps. They contain ':' which a
 * {@link StepId} cannot, so they never collide with a pipeline's steps.
 */
export const RunnerLogStep = z.enum(["sparki:checkout", "sparki:plan", "sparki:cache", "sparki:artifacts", "sparki:runner"]);
export type RunnerLogStep = z.infer<typeof RunnerLogStep>;

export const EnvName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a shell variable name");
const EnvValue = z
  .string()
  .max(RunnerLimits.envValueBytes)
  .refine((v) => !v.includes("\0"), "must not contain NUL");
export const EnvMap = z.record(EnvName, EnvValue).refine((m) => Object.keys(m).length <= RunnerLimits.envVars, `at most ${RunnerLimits.envVars} variables`);

/** Why a relative path is refused, or null when it is acceptable; shared by names and paths. */
export function relativePathProblem(value: string): string | null {
  if (value.length === 0) return "is empty";
  if (CONTROL.test(value)) return "contains a control character";
  if (value.includes("\\")) return "contains a backslash";
  if (value.startsWith("/") || /^[A-Za-z]:/.test(value)) return "is an absolute path";
  if (value.split("/").some((seg) => seg === "..")) return "contains a '..' segment";
  return null;
}

function pathLike(max: number) {
  return z
    .string()
    .max(max)
    .superRefine((value, ctx) => {
      const problem = relativePathProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} ${problem}` });
    });
}

/**
 * An artifact name: what it is stored and downloaded as. May contain '/' (sent
 * percent-encoded in the URL); never '..', an absolute path, a backslash or a control char.
 */
export const ArtifactName = pathLike(200).refine((v) => !v.split("/").includes("") && !v.split("/").includes("."), "must not contain empty or '.' segments");

/** A workspace-relative path the runner uploads: file, or directory (sent as .tar.gz). */
export const ArtifactPath = pathLike(1024);

export const Artifact = z.object({ name: ArtifactName, path: ArtifactPath });
export type Artifact = z.infer<typeof Artifact>;

/**
 * A dependency cache's key or restore prefix: the runner's OS, architecture and runtime, then
 * the pipeline's key (`linux-x64-node22.11.0/deps-npm-<lockfile sha256>`). Never part of a
 * storage path: the server stores each entry under its own id.
 */
export const CacheKey = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+=:/-]*$/, "letters, digits and . _ + = : / -");

/**
 * A folder to cache: `~/…` under the home the steps see, or a path in the checkout. Never
 * absolute, never '..': the runner keeps every cached path inside that home or the checkout.
 */
export const CachePath = z
  .string()
  .max(1024)
  .superRefine((value, ctx) => {
    const rest = value.startsWith("~/") ? value.slice(2) : value;
    const problem = value === "~" ? null : relativePathProblem(rest);
    if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} ${problem}` });
  });

export const CacheLimits = { restoreKeys: 10, paths: 32 } as const;

/** What a job restores before its steps and saves after them (the runner adds OS and runtime to the keys). */
export const JobCache = z.object({
  key: CacheKey,
  /** Prefixes tried in order when the key misses: the newest entry starting with one wins. */
  restoreKeys: z.array(CacheKey).max(CacheLimits.restoreKeys),
  paths: z.array(CachePath).min(1).max(CacheLimits.paths),
  /** The runtime whose version goes into the key (`node`, `python`, …): a name the runner knows. */
  runtime: z
    .string()
    .regex(/^[a-z0-9]{1,32}$/)
    .optional(),
  /**
   * What the job's step named `install` leaves behind (`node_modules`, `.venv`, `vendor`): with
   * them, later jobs of the build skip that step, in the same folder on the same runner or from a
   * build-scoped entry elsewhere (runner/install-share.ts). Absent: every job runs its install.
   */
  installPaths: z.array(CachePath).min(1).max(CacheLimits.paths).optional(),
  /**
   * With installPaths: the install result's key across builds (lockfile, install command, paths),
   * so a build may restore an earlier one's instead of installing. Absent: the key is the build's.
   */
  installKey: CacheKey.optional(),
});
export type JobCache = z.infer<typeof JobCache>;

const CommitSha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "a full SHA-1 or SHA-256 commit id");

const TimeoutSeconds = z.number().int().min(1).max(RunnerLimits.maxTimeoutSeconds);
const Instant = z.iso.datetime({ offset: true });

export const JobStep = z.object({
  id: StepId,
  name: z.string().min(1).max(200),
  command: z.string().min(1).max(RunnerLimits.commandBytes),
  timeoutSeconds: TimeoutSeconds,
  env: EnvMap,
});
export type JobStep = z.infer<typeof JobStep>;

export const Secret = z.object({ name: EnvName, value: z.string().min(1).max(RunnerLimits.secretValueBytes) });
export type Secret = z.infer<typeof Secret>;

export const Repo = z.object({
  /** Checked again by the runner with core/git-url.ts before `git` sees it. */
  url: z.string().min(1).max(2048),
  /**
   * The commit to build. Null only on a plan job of a build triggered by branch alone: the
   * runner checks out the branch's head and reports the commit with the pipeline upload.
   */
  commitSha: CommitSha.nullable(),
  branch: z.string().min(1).max(255),
  /**
   * Set for a tag build (added within version 2, optional so both sides keep working): the
   * runner fetches `refs/tags/<tag>` and refuses a commit the tag does not point at (peeled).
   * `branch` repeats the tag name for runners that predate this field; they check the commit
   * against a branch of that name, which normally does not exist, so their plan job fails
   * rather than building unchecked.
   */
  tag: BranchName.optional(),
});
export type Repo = z.infer<typeof Repo>;

/**
 * HTTP Basic credentials for cloning `repo.url`, minted for this job alone (a GitHub App
 * installation token reading that one repository: username `x-access-token`). The runner hands
 * them to git for that URL only, through the environment of its git processes (never the command
 * line, the repository's config or a file), masks them in every line, and forgets them after the
 * checkout; steps never see them.
 */
export const CloneCredential = z.object({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});
export type CloneCredential = z.infer<typeof CloneCredential>;

/** The lease a runner holds on a job; echoed on every job call so stale holders are refused. */
export const Lease = z.object({
  leaseId: z.string().min(1).max(128),
  /** Grows every time the job is handed out; the server refuses any smaller value. */
  fencingToken: z.number().int().positive(),
});
export type Lease = z.infer<typeof Lease>;

/**
 * A claimed job. `kind: "plan"` is a build's first job: the runner clones, runs the detector
 * and reads sparki.yml there, and uploads the pipeline instead of running `steps`.
 */
export const Job = Lease.extend({
  jobId: z.string().min(1).max(128),
  /** The credential of every call on this job (and only this job), valid while the lease is. */
  jobToken: z.string().min(1).max(4096),
  buildId: z.string().min(1).max(128),
  kind: z.enum(["steps", "plan"]).default("steps"),
  leaseExpiresAt: Instant,
  repo: Repo,
  /** Absent for repositories the runner reaches without credentials. */
  cloneCredential: CloneCredential.optional(),
  /**
   * Who may share this job's repository mirror on the runner (runner/mirror.ts): the project, so
   * objects fetched with one project's credential never serve another's job. Opaque; absent
   * (older servers): the runner clones without a mirror.
   */
  checkoutScope: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional(),
  steps: z.array(JobStep).max(RunnerLimits.steps),
  env: EnvMap,
  secrets: z.array(Secret).max(RunnerLimits.secrets),
  artifacts: z.array(Artifact).max(RunnerLimits.artifacts),
  timeoutSeconds: TimeoutSeconds,
  /** Absent when the job caches nothing (and from servers that predate caches, within version 2). */
  cache: JobCache.optional(),
  /** The job's place in its build's trace: the runner's spans for the job and its steps go under it. */
  traceparent: Traceparent.optional(),
  /** The build's workspace, for the runner's log lines about the job. Absent from older servers. */
  workspaceId: z.uuid().optional(),
  /**
   * The runtime version the job needs (its pipeline job's `runtime`): the runner puts that
   * version's bin folder first on the steps' PATH, and fails the job if it has none. Absent: the
   * steps get the runner's PATH as it is.
   */
  runtime: RuntimeRequirement.optional(),
}).superRefine((job, ctx) => {
  const ids = new Set<string>();
  for (const step of job.steps) {
    if (ids.has(step.id)) ctx.addIssue({ code: "custom", path: ["steps"], message: `duplicate step id ${step.id}` });
    ids.add(step.id);
  }
  const names = new Set<string>();
  for (const a of job.artifacts) {
    if (names.has(a.name)) ctx.addIssue({ code: "custom", path: ["artifacts"], message: `duplicate artifact ${a.name}` });
    names.add(a.name);
  }
});
export type Job = z.infer<typeof Job>;
export type JobInput = z.input<typeof Job>;

export const RegisterRequest = z.strictObject({
  /** A workspace's registration token, or the instance's shared-pool token. */
  token: z.string().min(1).max(512),
  name: RunnerName,
  labels: RunnerLabels,
  /** The agent's version, for the dashboard and compatibility checks. */
  version: z.string().min(1).max(64),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

export const RegisterResponse = z.object({ runnerId: z.string().min(1), runnerToken: z.string().min(1) });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/**
 * A claim. The runner's labels are those it registered with (re-register to change them): a
 * claim cannot add any, only report the runtimes the runner found (runner/runtimes.ts). Those are
 * facts about the host that change when someone installs a Node, so they travel with every claim;
 * they must be runtime labels (`node-22`), so no policy label (`gpu`, `trusted`) rides along.
 */
export const ClaimRequest = z.strictObject({
  /** Free slots; the server hands out at most one job per claim either way. */
  capacity: z.number().int().min(1).max(RunnerLimits.capacity),
  /** Runtime labels (`node-22`, `python-3.12`) of what the runner found; absent from older runners. */
  runtimes: z.array(RuntimeLabel).max(MAX_RUNTIME_LABELS).optional(),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const HeartbeatRequest = Lease.strict();
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

export const HeartbeatResponse = z.object({
  leaseExpiresAt: Instant,
  /** The build was cancelled: kill the steps, then complete with status "cancelled". */
  cancel: z.boolean(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

export const StepStatus = z.enum(["running", "succeeded", "failed", "cancelled", "timed_out", "skipped"]);
export type StepStatus = z.infer<typeof StepStatus>;

/** A step as reported: `exitCode` is null until it exits, and for steps killed or skipped. */
export const StepReport = z.object({
  id: StepId,
  status: StepStatus,
  exitCode: z.number().int().min(0).max(255).nullable(),
  startedAt: Instant.nullable(),
  finishedAt: Instant.nullable(),
});
export type StepReport = z.infer<typeof StepReport>;

export const StepUpdateRequest = Lease.extend(StepReport.omit({ id: true }).shape).strict();
export type StepUpdateRequest = z.infer<typeof StepUpdateRequest>;

export const JobResultStatus = z.enum(["succeeded", "failed", "cancelled", "timed_out"]);
export type JobResultStatus = z.infer<typeof JobResultStatus>;

export const CompleteRequest = Lease.extend({
  status: JobResultStatus,
  /** The failing step's exit code, 0 on success, null when nothing exited on its own. */
  exitCode: z.number().int().min(0).max(255).nullable(),
  steps: z.array(StepReport).max(RunnerLimits.steps),
  /** Set when the job failed before its steps (checkout, artifacts): one line for the UI. */
  error: z.string().max(2000).optional(),
}).strict();
export type CompleteRequest = z.infer<typeof CompleteRequest>;

/** Hands a job back unfinished (runner shutting down): the server requeues it at once. */
export const ReleaseRequest = Lease.extend({ reason: z.enum(["shutdown", "error"]) }).strict();
export type ReleaseRequest = z.infer<typeof ReleaseRequest>;

/** The plan job's result; `commitSha` is the commit it planned (required when the job had none). */
export const PipelineUploadRequest = Lease.extend({
  pipeline: PipelineSchema,
  commitSha: CommitSha.optional(),
  /** What the runner detected in the checkout, and the sparki.yml it read: shown with the version. */
  detection: DetectionSchema.optional(),
  sparkiYml: z
    .string()
    .max(256 * 1024)
    .optional(),
}).strict();
export type PipelineUploadRequest = z.infer<typeof PipelineUploadRequest>;

/** Headers of `PUT .../artifacts/:name`; the body is the file, or a directory as .tar.gz. */
export const ArtifactUploadHeaders = z.object({
  "sparki-lease-id": Lease.shape.leaseId,
  "sparki-fencing-token": z.coerce.number().int().positive(),
  "sparki-artifact-kind": z.enum(["file", "directory"]),
  /** Optional for runners that predate it; without it the artifact cannot be handed to the jobs that need it. */
  "sparki-artifact-sha256": z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type ArtifactUploadHeaders = z.infer<typeof ArtifactUploadHeaders>;

/**
 * Before an artifact upload: with R2's S3 credentials configured the server answers with a
 * presigned PUT URL (and the headers it signed, to send as they are), then the runner calls
 * `commit`; without them `uploadUrl` is null and the runner streams it through `PUT …/artifacts/:name`.
 */
export const ArtifactReserveRequest = Lease.extend({
  name: ArtifactName,
  kind: z.enum(["file", "directory"]),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
}).strict();
export type ArtifactReserveRequest = z.infer<typeof ArtifactReserveRequest>;

export const ArtifactReserveResponse = z.object({
  uploadUrl: z.url().nullable(),
  headers: z.record(z.string(), z.string()),
});
export type ArtifactReserveResponse = z.infer<typeof ArtifactReserveResponse>;

/** One artifact of a job the asking job `needs`, in the same build. */
export const NeededArtifact = z.object({
  name: ArtifactName,
  /** The job that uploaded it. */
  jobId: z.string().min(1).max(128),
  kind: z.enum(["file", "directory"]),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type NeededArtifact = z.infer<typeof NeededArtifact>;

export const NeededArtifactsResponse = z.object({ items: z.array(NeededArtifact).max(1000) });
export type NeededArtifactsResponse = z.infer<typeof NeededArtifactsResponse>;

export const ArtifactUploadResponse = z.object({
  name: ArtifactName,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ArtifactUploadResponse = z.infer<typeof ArtifactUploadResponse>;

/**
 * Which cache entry a job restores. The server picks the scopes (the build's branch or pull
 * request, then the project's default branch); the runner only names the key and prefixes.
 */
export const CacheLookupRequest = Lease.extend({
  key: CacheKey,
  restoreKeys: z.array(CacheKey).max(CacheLimits.restoreKeys),
}).strict();
export type CacheLookupRequest = z.infer<typeof CacheLookupRequest>;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** One stored cache entry. */
export const CacheEntry = z.object({
  id: z.uuid(),
  key: CacheKey,
  scope: z.string().min(1).max(300),
  size: z.number().int().nonnegative(),
  sha256: Sha256,
});
export type CacheEntry = z.infer<typeof CacheEntry>;

export const CacheLookupResponse = z.object({
  /** The entry to download, or null on a miss. */
  entry: CacheEntry.nullable(),
  /** Whether `entry` has the exact key (then saving again is skipped). */
  exact: z.boolean(),
  /** Where this job's save goes: its own branch or pull request, never another. */
  writeScope: z.string().min(1).max(300),
});
export type CacheLookupResponse = z.infer<typeof CacheLookupResponse>;

/** Headers of `PUT .../caches`; the body is the archive (.tar.gz) with a Content-Length. */
export const CacheUploadHeaders = z.object({
  "sparki-lease-id": Lease.shape.leaseId,
  "sparki-fencing-token": z.coerce.number().int().positive(),
  "sparki-cache-key": CacheKey,
  /** Optional: the scope the runner expects (the lookup's `writeScope`); any other is refused. */
  "sparki-cache-scope": z.string().min(1).max(300).optional(),
});
export type CacheUploadHeaders = z.infer<typeof CacheUploadHeaders>;

/**
 * Before a save: with R2's S3 credentials configured the server answers with a presigned PUT URL
 * (and the headers it signed, to send as they are) for the runner to upload straight to R2, then
 * `commit`; without them `uploadUrl` is null and the runner streams the archive through `PUT …/caches`.
 */
export const CacheReserveRequest = Lease.extend({
  key: CacheKey,
  size: z.number().int().positive(),
  sha256: Sha256,
}).strict();
export type CacheReserveRequest = z.infer<typeof CacheReserveRequest>;

export const CacheReserveResponse = z.object({
  entryId: z.uuid(),
  uploadUrl: z.url().nullable(),
  headers: z.record(z.string(), z.string()),
});
export type CacheReserveResponse = z.infer<typeof CacheReserveResponse>;

/** After a presigned upload: records the entry the server reserved (it checks the stored object). */
export const CacheCommitRequest = CacheReserveRequest.extend({ entryId: z.uuid() }).strict();
export type CacheCommitRequest = z.infer<typeof CacheCommitRequest>;

export const CacheSaveResponse = CacheEntry;
export type CacheSaveResponse = z.infer<typeof CacheSaveResponse>;

/**
 * One log line. `seq` numbers every line of a job from 1 with no gaps; `ts` is milliseconds
 * since the epoch; `text` has no trailing newline and keeps ANSI escapes. `partial: true`
 * means no newline followed (a line cut at {@link RunnerLimits.lineBytes}, or output that
 * ended without one), so the log's bytes are `text + (partial ? "" : "\n")` joined in order.
 */
export const LogLine = z.object({
  seq: z.number().int().positive(),
  /** A {@link StepId} or a {@link RunnerLogStep}: checked once per frame for each step it names. */
  step: z.string().min(1).max(64),
  ts: z.number().int().nonnegative(),
  text: z.string().max(RunnerLimits.lineBytes),
  partial: z.literal(true).optional(),
});
export type LogLine = z.infer<typeof LogLine>;

/**
 * Runner → server on the job's log socket. `fromSeq` is the first line's seq, and the lines
 * are consecutive: a re-sent frame is harmless because the server drops seqs it holds.
 */
export const RunnerLogFrame = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("lines"),
      fromSeq: z.number().int().positive(),
      /**
       * How long the frame's first line waited in the runner before the frame left (its
       * coalescing). The coordinator takes it off its own fan-out batching, so the two delays
       * together stay within one batching window; measured here, not from `ts`, so that the
       * two hosts' clocks need not agree.
       */
      heldMs: z.number().int().nonnegative().optional(),
      lines: z.array(LogLine).min(1).max(RunnerLimits.frameLines),
    })
    .superRefine((frame, ctx) => {
      let bytes = 0;
      // A frame names one or two steps in hundreds of lines: each is checked once, not per line
      // (a union with a regex per line was the coordinator's costliest check on a busy log).
      const steps = new Set<string>();
      frame.lines.forEach((line, i) => {
        bytes += line.text.length;
        if (line.seq !== frame.fromSeq + i) ctx.addIssue({ code: "custom", path: ["lines", i, "seq"], message: `expected seq ${frame.fromSeq + i}` });
        if (steps.has(line.step)) return;
        steps.add(line.step);
        if (!StepId.safeParse(line.step).success && !RunnerLogStep.safeParse(line.step).success) {
          ctx.addIssue({ code: "custom", path: ["lines", i, "step"], message: "not a step id or a runner step" });
        }
      });
      if (bytes > RunnerLimits.frameBytes) ctx.addIssue({ code: "custom", path: ["lines"], message: "frame too large" });
    }),
]);
export type RunnerLogFrame = z.infer<typeof RunnerLogFrame>;

/**
 * Server → runner. `resume` is sent once on connect (and again after a gap): the highest seq
 * the server holds, 0 for none; the runner resends everything after it. `ack` confirms every
 * line up to `seq` is stored, so the runner may forget it. `cancel` pushes a build's cancel
 * at once (the heartbeat's `cancel` flag is the fallback when the socket is down). `error`
 * precedes a close the runner should not retry (bad frame, lease lost). `watch` says whether
 * anyone is watching the build's log live (sent on connect and whenever that changes): the
 * runner sends frames often while someone is, and seldom while nobody is, since every frame
 * costs CPU on the host the step runs on. A runner that does not know `watch` ignores it.
 */
export const ServerLogFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("resume"), seq: z.number().int().nonnegative() }),
  z.object({ type: z.literal("ack"), seq: z.number().int().nonnegative() }),
  z.object({ type: z.literal("watch"), watched: z.boolean() }),
  z.object({ type: z.literal("cancel") }),
  z.object({ type: z.literal("error"), code: z.enum(["invalid_frame", "lease_lost"]), message: z.string().max(2000) }),
]);
export type ServerLogFrame = z.infer<typeof ServerLogFrame>;

/** WebSocket close codes on the log socket (4000-4999 are the application's). */
export const LogCloseCode = { invalidFrame: 4400, leaseLost: 4409 } as const;
