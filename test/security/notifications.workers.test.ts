/**
 * Hostile channel URLs at the API (inside workerd; this instance is a development one, so only
 * loopback http is let through): every spelling of an internal address, credentials, odd schemes
 * and oversized input is a 400 problem naming `body.url`, never a 500 and never stored; and the
 * URL's secret part appears in no answer or audit row.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";

let owner: TestUser;
let workspaceId: string;

beforeAll(async () => {
  owner = await signup("notify-attack");
  workspaceId = (await createWorkspace(owner)).id;
});

describe("hostile channel URLs", () => {
  it.each([
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://2852039166/latest/meta-data/",
    "https://0xa9.0xfe.0xa9.0xfe/",
    "https://[::ffff:169.254.169.254]/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://10.0.0.1/hook",
    "https://192.168.1.1:8443/hook",
    "https://[fe80::1]/hook",
    "http://10.0.0.1/hook",
    "http://hooks.example.com/plain-http",
    "https://hooks.example.com:22/ssh",
    "https://kubernetes.default.svc.cluster.local/api",
    "https://printer.local/",
    "https://intranet/",
    "https://admin:secret@hooks.example.com/x",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "data:text/plain,hello",
    "not a url",
    `https://hooks.example.com/${"a".repeat(2100)}`,
  ])("refuses %s", async (url) => {
    const project = await createProject(owner, workspaceId);
    for (const kind of ["webhook", "slack"]) {
      const res = await call("POST", `/v1/projects/${project.id}/notifications`, { token: owner.accessToken, body: { kind, url } });
      expectProblem(res, 400, "validation");
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain("body.url");
      expect(res.text).not.toContain("secret@");
    }
    expect((await call("GET", `/v1/projects/${project.id}/notifications`, { token: owner.accessToken })).body.items).toEqual([]);
  });

  it("keeps the URL's path and query out of every answer and the audit log", async () => {
    const project = await createProject(owner, workspaceId);
    const url = "https://hooks.slack.com/services/T0AAAA/B0BBBB/sEcReTpArT?x=tOkEn";
    const created = await call("POST", `/v1/projects/${project.id}/notifications`, { token: owner.accessToken, body: { kind: "slack", url } });
    expect(created.status, created.text).toBe(201);
    const answers = [
      created.text,
      (await call("GET", `/v1/projects/${project.id}/notifications`, { token: owner.accessToken })).text,
      (await call("PATCH", `/v1/projects/${project.id}/notifications/${created.body.id}`, { token: owner.accessToken, body: { name: "renamed" } })).text,
      (await call("GET", `/v1/workspaces/${workspaceId}/audit-logs`, { token: owner.accessToken })).text,
    ];
    for (const text of answers) {
      expect(text).not.toContain("sEcReTpArT");
      expect(text).not.toContain("tOkEn");
    }
  });

  it.each([
    { kind: "webhook", url: "https://hooks.example.com/x", name: "\u0000bell" },
    { kind: "webhook", url: "https://hooks.example.com/x", name: "x".repeat(101) },
    { kind: "webhook", url: "https://hooks.example.com/x", events: ["build.failed", "build.failed", "build.failed", "build.failed", "build.failed"] },
    { kind: "webhook", url: ["https://hooks.example.com/x"] },
    { kind: "slack", url: null },
  ])("refuses a malformed body %#", async (body) => {
    const project = await createProject(owner, workspaceId);
    expectProblem(await call("POST", `/v1/projects/${project.id}/notifications`, { token: owner.accessToken, body }), 400, "validation");
  });
});
