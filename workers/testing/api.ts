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
  let parsed: unknown;
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

/**
 * Signs a new user up and logs them in, as a client does: signup answers 202 with no tokens
 * (the same whether or not the email was registered), login answers with the session. Each
 * user logs in from an IP of their own, so the login limits of one test never reach another's.
 */
export async function signup(tag = "user"): Promise<TestUser> {
  const email = uniqueEmail(tag);
  const password = "correct horse battery staple";
  const res = await call("POST", "/v1/auth/signup", { body: { email, password, name: tag } });
  expect(res.status, res.text).toBe(202);
  const session = await login(email, password);
  return { id: session.user.id, email, password, accessToken: session.accessToken, refreshToken: session.refreshToken };
}

/** Logs in with a bearer session (`session: "token"`); asserts it worked. */
export async function login(email: string, password: string, ip = testIp()): Promise<{ user: { id: string }; accessToken: string; refreshToken: string }> {
  const res = await call("POST", "/v1/auth/login", { body: { email, password }, headers: { "cf-connecting-ip": ip } });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** A random address in 198.18.0.0/15 (benchmarking range): a client IP no other test uses. */
export function testIp(): string {
  const [a = 0, b = 0, c = 0] = crypto.getRandomValues(new Uint8Array(3));
  return `198.${18 + (a % 2)}.${b}.${c}`;
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
