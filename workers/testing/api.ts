/** Helpers for tests that call the API Worker inside workerd, the way a client would. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is, for malformed input. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const res = await SELF.fetch(`http://sparki.test${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Asserts a problem+json error with the given status (and code, by its type URI). */
export function expectProblem(res: ApiResponse, status: number, code?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(res.body).toMatchObject({ status, title: expect.any(String), instance: expect.any(String) });
  if (code) expect(res.body.type).toBe(`https://sparki.dev/problems/${code.replaceAll("_", "-")}`);
  expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

let counter = 0;
export function uniqueEmail(tag = "user"): string {
  counter += 1;
  return `${tag}-${crypto.randomUUID().slice(0, 8)}-${counter}@example.test`;
}

export async function signup(tag = "user"): Promise<TestUser> {
  const email = uniqueEmail(tag);
  const password = "correct horse battery staple";
  const res = await call("POST", "/v1/auth/signup", { body: { email, password, name: tag } });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.user.id, email, password, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
}

export async function createWorkspace(user: TestUser, name = "Acme"): Promise<{ id: string; slug: string }> {
  const res = await call("POST", "/v1/workspaces", { token: user.accessToken, body: { name } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

export async function createProject(user: TestUser, workspaceId: string, name = `app-${crypto.randomUUID().slice(0, 6)}`) {
  const res = await call("POST", `/v1/workspaces/${workspaceId}/projects`, {
    token: user.accessToken,
    body: { name, gitUrl: "https://github.com/acme/app.git" },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; name: string; workspaceId: string };
}

export async function addMember(owner: TestUser, workspaceId: string, member: TestUser, role: string): Promise<void> {
  const res = await call("POST", `/v1/workspaces/${workspaceId}/members`, { token: owner.accessToken, body: { email: member.email, role } });
  expect(res.status, res.text).toBe(201);
}
