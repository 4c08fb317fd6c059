import type { z } from "zod";
import {
  ARTIFACT_KIND_HEADER,
  ARTIFACT_SHA256_HEADER,
  ArtifactUploadResponse,
  FENCING_TOKEN_HEADER,
  HeartbeatResponse,
  Job,
  LEASE_ID_HEADER,
  PROTOCOL_HEADER,
  RegisterResponse,
  RUNNER_PROTOCOL_VERSION,
  type ClaimRequest,
  type CompleteRequest,
  type Lease,
  type PipelineUploadRequest,
  type RegisterRequest,
  type ReleaseRequest,
  type StepUpdateRequest,
} from "../core/contracts/runner.ts";
import { HttpError, NetworkError } from "./http-errors.ts";
import { putStream } from "./job-http.ts";

export { HttpError, isLeaseLost, isRetryable, NetworkError, retryAfterMs, transientRetry } from "./http-errors.ts";

function retryAfter(value: string | null): number | null {
  if (value === null) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

async function errorFrom(res: Response): Promise<HttpError> {
  const text = await res.text().catch(() => "");
  let detail = text.slice(0, 500) || res.statusText;
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === "string") detail = problem.detail;
    else if (typeof problem.title === "string") detail = problem.title;
  } catch {
    // Not problem+json (a proxy's error page): keep the raw text.
  }
  return new HttpError(res.status, detail, retryAfter(res.headers.get("retry-after")));
}

/** Typed calls of the runner protocol against one control plane. */
export class ControlPlaneClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    /** The runner token, or a job's token for a client from {@link forJob}. */
    private readonly runnerToken: string | null = null,
    /** Ceiling for one ordinary call; the claim long-poll gets its own. */
    private readonly timeoutMs = 30_000,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  /** A client for one claimed job: it sends the job's token, never the runner's. */
  forJob(job: Pick<Job, "jobToken">): ControlPlaneClient {
    return new ControlPlaneClient(this.baseUrl, job.jobToken, this.timeoutMs);
  }

  /** Headers every call carries. */
  headers(lease?: Lease): Record<string, string> {
    const h: Record<string, string> = { [PROTOCOL_HEADER]: String(RUNNER_PROTOCOL_VERSION) };
    if (this.runnerToken) h.authorization = `Bearer ${this.runnerToken}`;
    if (lease) {
      h[LEASE_ID_HEADER] = lease.leaseId;
      h[FENCING_TOKEN_HEADER] = String(lease.fencingToken);
    }
    return h;
  }

  private async call<T>(
    method: string,
    path: string,
    body: unknown,
    schema: z.ZodType<T> | null,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T | null> {
    const signals = [AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs)];
    if (opts.signal) signals.push(opts.signal);
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...this.headers(), "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new NetworkError(`cannot reach ${this.baseUrl}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!res.ok) throw await errorFrom(res);
    if (res.status === 204 || schema === null) {
      await res.body?.cancel();
      return null;
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (err) {
      throw new NetworkError(`${method} ${path}: the answer is not JSON`, { cause: err });
    }
    const parsed = schema.safeParse(json);
    // A body that breaks the contract is the server's bug; treat it like a 5xx.
    if (!parsed.success) throw new HttpError(502, `${method} ${path}: unexpected answer: ${parsed.error.message}`, null);
    return parsed.data;
  }

  async register(body: RegisterRequest): Promise<RegisterResponse> {
    return (await this.call("POST", "/v1/runner/register", body, RegisterResponse)) as RegisterResponse;
  }

  /** Long-polls for a job; null when the server had none before its hold time ran out. */
  async claim(body: ClaimRequest, signal: AbortSignal): Promise<Job | null> {
    return this.call("POST", "/v1/runner/claim", body, Job, { signal, timeoutMs: 45_000 });
  }

  /** Says this runner stopped claiming, so a claim of it the server still holds gets no job. */
  async disconnect(): Promise<void> {
    await this.call("POST", "/v1/runner/disconnect", undefined, null, { timeoutMs: 5_000 });
  }

  async heartbeat(jobId: string, lease: Lease, signal?: AbortSignal): Promise<HeartbeatResponse> {
    return (await this.call("POST", `/v1/runner/jobs/${enc(jobId)}/heartbeat`, lease, HeartbeatResponse, { signal })) as HeartbeatResponse;
  }

  async updateStep(jobId: string, stepId: string, body: StepUpdateRequest): Promise<void> {
    await this.call("POST", `/v1/runner/jobs/${enc(jobId)}/steps/${enc(stepId)}`, body, null);
  }

  async complete(jobId: string, body: CompleteRequest): Promise<void> {
    await this.call("POST", `/v1/runner/jobs/${enc(jobId)}/complete`, body, null);
  }

  async release(jobId: string, body: ReleaseRequest): Promise<void> {
    await this.call("POST", `/v1/runner/jobs/${enc(jobId)}/release`, body, null);
  }

  async uploadPipeline(jobId: string, body: PipelineUploadRequest): Promise<void> {
    await this.call("POST", `/v1/runner/jobs/${enc(jobId)}/pipeline`, body, null);
  }

  /** The job's log socket URL (http→ws). */
  logSocketUrl(jobId: string): string {
    return `${this.baseUrl.replace(/^http/, "ws")}/v1/runner/jobs/${enc(jobId)}/logs`;
  }

  /**
   * Streams one artifact through the API. node:http rather than fetch: the body goes with its
   * Content-Length and backpressure, never whole in memory.
   */
  async uploadArtifact(
    jobId: string,
    name: string,
    lease: Lease,
    kind: "file" | "directory",
    body: AsyncIterable<Uint8Array>,
    size: number,
    signal: AbortSignal,
    sha256?: string,
  ): Promise<ArtifactUploadResponse> {
    const url = `${this.baseUrl}/v1/runner/jobs/${enc(jobId)}/artifacts/${enc(name)}`;
    const headers = {
      ...this.headers(lease),
      [ARTIFACT_KIND_HEADER]: kind,
      // Stored with the artifact for the jobs that need it; the server refuses bytes that do not match.
      ...(sha256 ? { [ARTIFACT_SHA256_HEADER]: sha256 } : {}),
      "content-type": kind === "directory" ? "application/gzip" : "application/octet-stream",
    };
    const { status, text, retryAfter: after } = await putStream(url, headers, body, size, signal, "artifact upload");
    if (status < 200 || status >= 300) throw new HttpError(status, text.slice(0, 500), retryAfter(after));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(502, "artifact upload: the answer is not JSON", null);
    }
    const parsed = ArtifactUploadResponse.safeParse(json);
    if (!parsed.success) throw new HttpError(502, `unexpected artifact answer: ${parsed.error.message}`, null);
    return parsed.data;
  }
}

const enc = encodeURIComponent;
