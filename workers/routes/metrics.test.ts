import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { call, createProject, createWorkspace, expectProblem, signup } from "../testing/api.js";

const scrape = () => SELF.fetch("http://sparki.test/metrics", { headers: { authorization: "Bearer metrics-token-for-tests" } });

it("serves request metrics by route pattern, with error types", async () => {
  const user = await signup("metrics");
  const ws = await createWorkspace(user);
  const project = await createProject(user, ws.id);
  await call("GET", `/v1/projects/${project.id}`, { token: user.accessToken });
  await call("GET", `/v1/projects/${crypto.randomUUID()}`, { token: user.accessToken });
  const res = await scrape();
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  const text = await res.text();
  expect(text).toMatch(/sparki_api_request_duration_seconds_count\{endpoint="\/v1\/projects\/:id",method="GET",status="200"\} [1-9]/);
  expect(text).toMatch(/sparki_api_request_errors_total\{endpoint="\/v1\/projects\/:id",error_type="not_found",method="GET"\} [1-9]/);
  // Route patterns, not URLs: no project id appears as an endpoint.
  expect(text).not.toContain(`endpoint="/v1/projects/${project.id}"`);
});

it("is closed without the token", async () => {
  expectProblem(await call("GET", "/metrics"), 401);
  expectProblem(await call("GET", "/metrics", { token: "wrong-token-of-some-length" }), 401);
});
