/**
 * Presigned R2 (S3 API) URLs made with aws4fetch: in production, artifacts and caches move
 * between R2 and runners or browsers directly instead of through the Worker. Locally (no S3
 * credentials) the Worker streams them.
 */
import { AwsClient } from "aws4fetch";

export interface S3Settings {
  /** https://<account id>.r2.cloudflarestorage.com */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** R2's S3 settings when all are configured (then transfers use presigned URLs), else null. */
export function s3SettingsOf(config: {
  R2_S3_ENDPOINT?: string | undefined;
  R2_ACCESS_KEY_ID?: string | undefined;
  R2_SECRET_ACCESS_KEY?: string | undefined;
  R2_BUCKET_NAME: string;
}): S3Settings | null {
  const { R2_S3_ENDPOINT: endpoint, R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey, R2_BUCKET_NAME: bucket } = config;
  return endpoint && accessKeyId && secretAccessKey ? { endpoint, bucket, accessKeyId, secretAccessKey } : null;
}

/** A GET URL for `key` that works for `expiresIn` seconds without other credentials. */
export async function presignGet(settings: S3Settings, key: string, expiresIn: number, downloadName?: string): Promise<string> {
  const client = new AwsClient({ accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey, service: "s3", region: "auto" });
  const url = new URL(`${settings.endpoint.replace(/\/+$/, "")}/${settings.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`);
  url.searchParams.set("X-Amz-Expires", String(expiresIn));
  if (downloadName) url.searchParams.set("response-content-disposition", `attachment; filename="${downloadName.replace(/"/g, "")}"`);
  const signed = await client.sign(new Request(url, { method: "GET" }), { aws: { signQuery: true } });
  return signed.url;
}

/**
 * A PUT URL for `key` that stores exactly `size` bytes whose SHA-256 is `sha256Hex`, with
 * `metadata` (x-amz-meta-*): all are signed, so the uploader must send them as given (R2 checks
 * the checksum) and the headers to send are returned beside the URL.
 */
export async function presignPut(
  settings: S3Settings,
  key: string,
  expiresIn: number,
  upload: { size: number; sha256Hex: string; metadata: Record<string, string> },
): Promise<{ url: string; headers: Record<string, string> }> {
  const client = new AwsClient({ accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey, service: "s3", region: "auto" });
  const url = new URL(`${settings.endpoint.replace(/\/+$/, "")}/${settings.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`);
  url.searchParams.set("X-Amz-Expires", String(expiresIn));
  const checksum = btoa(String.fromCharCode(...(upload.sha256Hex.match(/../g) ?? []).map((h) => Number.parseInt(h, 16))));
  const headers: Record<string, string> = {
    "content-length": String(upload.size),
    "x-amz-checksum-sha256": checksum,
    ...Object.fromEntries(Object.entries(upload.metadata).map(([k, v]) => [`x-amz-meta-${k.toLowerCase()}`, v])),
  };
  const signed = await client.sign(url.toString(), { method: "PUT", headers, aws: { signQuery: true, allHeaders: true } });
  return { url: signed.url, headers };
}
