/**
 * Presigned cache uploads (presignPut): the URL signs the size, the SHA-256 checksum and the
 * metadata headers, so R2 refuses an upload that changes any of them. Checked with an independent
 * SigV4 query verification (node:crypto) that takes the signed headers from the request.
 */
import { createHash, createHmac } from "node:crypto";
import { expect, it } from "vitest";
import { presignPut } from "./presign.js";

const secretAccessKey = "fake-secret-access-key";
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Whether `headers` sent with a PUT to `rawUrl` match its signature, as S3 checks it. */
function signatureHolds(rawUrl: string, headers: Record<string, string>): boolean {
  const url = new URL(rawUrl);
  const q = url.searchParams;
  const [, date = "", region = "", service = ""] = q.get("X-Amz-Credential")?.split("/") ?? [];
  const signed = (q.get("X-Amz-SignedHeaders") ?? "").split(";");
  const all: Record<string, string> = { ...headers, host: url.host };
  const query = [...q.entries()]
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]): [string, string] => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalHeaders = signed.map((h) => `${h}:${all[h] ?? ""}\n`).join("");
  const canonical = ["PUT", url.pathname, query, canonicalHeaders, signed.join(";"), "UNSIGNED-PAYLOAD"].join("\n");
  const toSign = [
    "AWS4-HMAC-SHA256",
    q.get("X-Amz-Date"),
    `${date}/${region}/${service}/aws4_request`,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), "aws4_request");
  return hmac(key, toSign).toString("hex") === q.get("X-Amz-Signature");
}

it("signs the size, the checksum and the metadata of a cache upload", async () => {
  const sha256Hex = createHash("sha256").update("archive").digest("hex");
  const settings = { endpoint: "https://account.r2.cloudflarestorage.com", bucket: "sparki", accessKeyId: "fake-access-key", secretAccessKey };
  const { url, headers } = await presignPut(settings, "projects/p/caches/e.tar.gz", 900, { size: 7, sha256Hex, metadata: { jobid: "b.1", cachekey: "k" } });
  expect(new URL(url).pathname).toBe("/sparki/projects/p/caches/e.tar.gz");
  expect(new URL(url).searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;host;x-amz-checksum-sha256;x-amz-meta-cachekey;x-amz-meta-jobid");
  expect(headers).toEqual({
    "content-length": "7",
    "x-amz-checksum-sha256": Buffer.from(sha256Hex, "hex").toString("base64"),
    "x-amz-meta-jobid": "b.1",
    "x-amz-meta-cachekey": "k",
  });
  expect(signatureHolds(url, headers)).toBe(true);
  expect(signatureHolds(url, { ...headers, "content-length": "8" })).toBe(false);
  expect(signatureHolds(url, { ...headers, "x-amz-meta-jobid": "b.2" })).toBe(false);
});
