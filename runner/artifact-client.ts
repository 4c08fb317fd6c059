/**
 * The artifact routes of the runner protocol beyond the plain upload (ControlPlaneClient.uploadArtifact):
 * reserve and commit around a presigned upload straight to R2 (workers/routes/runner-artifacts.ts),
 * and the list and download of the artifacts of the jobs this job needs (workers/routes/runner-needs.ts).
 */
import { Readable } from "node:stream";
import type { ReadableStream as WebStream } from "node:stream/web";
import type { z } from "zod";
import {
  ArtifactReserveResponse,
  ArtifactUploadResponse,
  NeededArtifactsResponse,
  type ArtifactReserveRequest,
  type Lease,
  type NeededArtifact,
} from "../core/contracts/runner.ts";
import type { ControlPlaneClient } from "./client.ts";
import { failure, postLeased, send } from "./job-http.ts";

const enc = encodeURIComponent;
const encName = (name: string) => name.split("/").map(enc).join("/");

export type ArtifactDescription = Omit<ArtifactReserveRequest, "leaseId" | "fencingToken">;

export class ArtifactClient {
  constructor(
    private readonly client: ControlPlaneClient,
    private readonly jobId: string,
    private readonly lease: Lease,
  ) {}

  private url(path: string) {
    return `${this.client.baseUrl}/v1/runner/jobs/${enc(this.jobId)}${path}`;
  }

  /** Where to upload: a presigned R2 URL with the headers to send, or null to stream through the API. */
  reserve(artifact: ArtifactDescription, signal: AbortSignal): Promise<ArtifactReserveResponse> {
    return this.json("/artifacts/reserve", artifact, ArtifactReserveResponse, signal);
  }

  /** Confirms an upload to the reserved URL. */
  commit(artifact: ArtifactDescription, signal: AbortSignal): Promise<ArtifactUploadResponse> {
    return this.json("/artifacts/commit", artifact, ArtifactUploadResponse, signal);
  }

  /** The artifacts of the jobs this job needs. */
  async needed(signal: AbortSignal): Promise<NeededArtifact[]> {
    return (await this.json("/needs/artifacts", {}, NeededArtifactsResponse, signal)).items;
  }

  /**
   * A needed artifact's bytes as a stream. A redirect to a presigned R2 URL is followed by fetch,
   * which drops the job token on the way to another origin.
   */
  async download(name: string, signal: AbortSignal): Promise<Readable> {
    const res = await send(this.url(`/needs/artifacts/${encName(name)}`), { headers: this.client.headers(this.lease), signal });
    if (!res.ok || !res.body) throw await failure(res);
    return Readable.fromWeb(res.body as WebStream<Uint8Array>);
  }

  private json<T>(path: string, body: object, schema: z.ZodType<T>, signal: AbortSignal): Promise<T> {
    return postLeased(this.url(path), this.client.headers(), this.lease, body, schema, signal);
  }
}
