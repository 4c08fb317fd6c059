/**
 * Presigned URLs checked against a fake of R2's S3 API that verifies AWS Signature Version 4
 * query authentication with its own implementation (node:crypto), over real HTTP.
 */
import { createHmac, createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { presignGet, type S3Settings } from "./presign.js";

const objects = new Map([["sparki-artifacts/projects/p/builds/b/artifacts/dist", "artifact bytes"]]);
const secretAccessKey = "fake-secret-access-key";
let server: Server;
let settings: S3Settings;

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** SigV4 query-string verification, as S3 does it (UNSIGNED-PAYLOAD, host the only signed header). */
function verify(method: string, rawUrl: string, host: string, now: Date): string | null {
  const url = new URL(rawUrl, `http://${host}`);
  const q = url.searchParams;
  const credential = q.get("X-Amz-Credential")?.split("/") ?? [];
  if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256" || credential.length !== 5) return "bad algorithm or credential";
  const [, date, region, service] = credential;
  const amzDate = q.get("X-Amz-Date") ?? "";
  const expires = Number(q.get("X-Amz-Expires"));
  const signedAt = Date.parse(amzDate.replace(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/, "$1-$2-$3T$4:$5:$6Z"));
  if (!(signedAt <= now.getTime() && now.getTime() <= signedAt + expires * 1000)) return "expired";
  const query = [...q.entries()]
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]): [string, string] => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonical = [method, url.pathname, query, `host:${host}\n`, q.get("X-Amz-SignedHeaders"), "UNSIGNED-PAYLOAD"].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date ?? ""), region ?? ""), service ?? ""), "aws4_request");
  return hmac(key, toSign).toString("hex") === q.get("X-Amz-Signature") ? null : "signature mismatch";
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const problem = verify(req.method ?? "GET", req.url ?? "/", req.headers.host ?? "", new Date());
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
    if (problem) return void res.writeHead(403).end(problem);
    const body = objects.get(path);
    if (body === undefined) return void res.writeHead(404).end("NoSuchKey");
    res.writeHead(200, { "content-disposition": new URL(req.url ?? "/", "http://x").searchParams.get("response-content-disposition") ?? "" }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  settings = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bucket: "sparki-artifacts",
    accessKeyId: "fake-access-key",
    secretAccessKey,
  };
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

it("makes URLs that S3's signature check accepts, for the object asked", async () => {
  const url = await presignGet(settings, "projects/p/builds/b/artifacts/dist", 300, "dist.tar.gz");
  const res = await fetch(url);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.text()).toBe("artifact bytes");
  expect(res.headers.get("content-disposition")).toBe('attachment; filename="dist.tar.gz"');
});

it("makes URLs that stop working when tampered with or signed with another secret", async () => {
  const url = new URL(await presignGet(settings, "projects/p/builds/b/artifacts/dist", 300));
  const otherObject = new URL(url);
  otherObject.pathname = "/sparki-artifacts/projects/q/builds/b/artifacts/dist";
  expect((await fetch(otherObject)).status).toBe(403);
  const longer = new URL(url);
  longer.searchParams.set("X-Amz-Expires", "999999");
  expect((await fetch(longer)).status).toBe(403);
  const forged = await presignGet({ ...settings, secretAccessKey: "not-the-secret" }, "projects/p/builds/b/artifacts/dist", 300);
  expect((await fetch(forged)).status).toBe(403);
});
