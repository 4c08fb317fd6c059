/**
 * The sweep an attacker's fuzzer would run (see the route-sweep-*.workers.test.ts files): every
 * route of the OpenAPI document, and every route outside it (WebSockets, streams, sites), called with
 * hostile path parameters, query values and bodies by a caller who owns real resources (so requests
 * get past authorization into the handlers). Whatever the input, the answer is a 4xx problem or a
 * success, never a 5xx. The sweep is split over files because the Workers pool's SELF wrapper
 * overflows its stack after a few thousand calls in one isolate.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import type { JsonSchema } from "./hostile.js";

export interface Operation {
  method: string;
  path: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

export interface SweepContext {
  user: TestUser;
  workspaceId: string;
  projectId: string;
  runnerToken: string;
  operations: Operation[];
  components: Record<string, JsonSchema>;
}

let user: TestUser;
let workspaceId: string;
let projectId: string;
let runnerToken: string;

/** A caller with a workspace, a project and a runner, and the routes of the OpenAPI document. */
export async function setUpSweep(): Promise<SweepContext> {
  const operations: Operation[] = [];
  user = await signup("sweep");
  workspaceId = (await createWorkspace(user, "Sweep")).id;
  projectId = (await createProject(user, workspaceId)).id;
  const registered = await call("POST", "/v1/runner/register", {
    body: { token: "shared-runner-token-for-tests", name: "sweep", labels: ["linux"], version: "0.0.0" },
  });
  expect(registered.status, registered.text).toBe(201);
  runnerToken = registered.body.runnerToken;
  const doc = await call("GET", "/v1/openapi.json");
  expect(doc.status).toBe(200);
  const components = doc.body.components?.schemas ?? {};
  for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(item)) operations.push({ ...op, method: method.toUpperCase(), path });
  }
  return { user, workspaceId, projectId, runnerToken, operations, components };
}

/** A path with each `{param}` replaced: the real resource where one fits, else `value`. */
export function fill(path: string, value: string, real: boolean): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string, offset: number) => {
    if (!real) return value;
    const before = path.slice(0, offset);
    if (name === "id" && before.endsWith("/v1/workspaces/")) return workspaceId;
    if (name === "id" && before.endsWith("/v1/projects/")) return projectId;
    return value;
  });
}

function tokenFor(path: string): string {
  return path.startsWith("/v1/runner/") ? runnerToken : user.accessToken;
}

async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const h = new Headers({ authorization: `Bearer ${tokenFor(path)}`, ...headers });
  if (body !== undefined && !h.has("content-type")) h.set("content-type", "application/json");
  let res: Response;
  try {
    // A request that never ends is as much a failure as a 500 (and would hang the sweep).
    const signal = AbortSignal.timeout(requestTimeoutMs);
    res = await SELF.fetch(`http://sparki.test${path}`, { method, headers: h, body: method === "GET" || method === "HEAD" ? undefined : body, signal });
    if (res.status === 101) {
      res.webSocket?.accept();
      res.webSocket?.close(1000, "sweep");
      return { status: 101, text: "" };
    }
    return { status: res.status, text: await res.text() };
  } catch (error) {
    // The Worker threw or hung instead of answering: as bad as a 500.
    return { status: 599, text: String(error) };
  }
}

export interface Probe {
  label: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/** A runner's claim that finds no job waits out its long poll (about 28 s) before its 204. */
const longPolls = (probe: Probe) => probe.method === "POST" && probe.path === "/v1/runner/claim";

/**
 * Sends every probe (a few at a time; long polls all at once, beside them, as they only wait) and
 * asserts that none was answered with a 5xx, listing all that were.
 */
export async function sweep(probes: Probe[]): Promise<void> {
  expect(probes.length).toBeGreaterThan(0);
  const failures: string[] = [];
  const probe = async ({ label, method, path, body, headers }: Probe) => {
    const res = await send(method, path, body, headers);
    if (res.status >= 500) failures.push(`${label} → ${res.status} ${res.text.slice(0, 200)}`);
  };
  const quick = probes.filter((p) => !longPolls(p));
  let next = 0;
  const worker = async () => {
    while (next < quick.length) await probe(quick[next++] as Probe);
  };
  await Promise.all([...probes.filter(longPolls).map(probe), ...Array.from({ length: 6 }, worker)]);
  expect(failures).toEqual([]);
}

export const sweepTimeout = 600_000;
const requestTimeoutMs = 45_000;
