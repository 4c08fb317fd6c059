/** Helpers for tests of the push hook: making one, and calling it signed the way a git server does. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { hmacSha256Hex } from "../../server/webhooks/hmac.ts";
import { type ApiResponse, call, type TestUser } from "./api.js";

export const zeros = "0".repeat(40);
export const shaOf = (c: string) => c.repeat(40);

/** Creates (or rotates) the project's push hook as `user`; returns its key and URL. */
export async function createHook(user: TestUser, projectId: string): Promise<{ secret: string; url: string }> {
  const res = await call("POST", `/v1/projects/${projectId}/hooks`, { token: user.accessToken });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** `sha256=<hex HMAC>` of `body` under `secret`. */
export async function sign(secret: string, body: string | Uint8Array): Promise<string> {
  return `sha256=${await hmacSha256Hex(secret, typeof body === "string" ? new TextEncoder().encode(body) : body)}`;
}

export interface PushCall {
  /** The exact body bytes; a JSON string of `{ref, before, after}` by default. */
  body?: string | Uint8Array;
  /** Overrides the signature (`null` leaves the header out). */
  signature?: string | null;
  /** Overrides the delivery id (`null` leaves the header out). */
  delivery?: string | null;
  headers?: Record<string, string>;
}

/** POSTs a push hook call for `projectId`, signed with `secret` unless told otherwise. */
export async function push(projectId: string, secret: string, call: PushCall & { ref?: string; before?: string; after?: string } = {}): Promise<ApiResponse> {
  const body = call.body ?? JSON.stringify({ ref: call.ref ?? "refs/heads/main", before: call.before ?? zeros, after: call.after ?? shaOf("a") });
  const headers = new Headers({ "content-type": "application/json", ...call.headers });
  const signature = call.signature === undefined ? await sign(secret, body) : call.signature;
  if (signature !== null) headers.set("x-sparki-signature-256", signature);
  const delivery = call.delivery === undefined ? crypto.randomUUID() : call.delivery;
  if (delivery !== null) headers.set("x-sparki-delivery", delivery);
  const res = await SELF.fetch(`http://sparki.test/v1/projects/${projectId}/hooks/push`, { method: "POST", headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
