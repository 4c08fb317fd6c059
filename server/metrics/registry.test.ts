import { expect, it } from "vitest";
import { Registry } from "./registry.js";

it("renders counters and cumulative histograms in Prometheus text", () => {
  const r = new Registry();
  r.inc("sparki_build_success_total", { project: "p1", framework: "vite" });
  r.inc("sparki_build_success_total", { framework: "vite", project: "p1" }, 2);
  r.observe("sparki_api_request_duration_seconds", { method: "GET", endpoint: "/v1/me", status: "200" }, 0.02, [0.01, 0.05, 0.1]);
  r.observe("sparki_api_request_duration_seconds", { method: "GET", endpoint: "/v1/me", status: "200" }, 0.07, [0.01, 0.05, 0.1]);
  expect(r.render()).toBe(
    [
      "# HELP sparki_api_request_duration_seconds API request duration, by route pattern.",
      "# TYPE sparki_api_request_duration_seconds histogram",
      'sparki_api_request_duration_seconds_bucket{endpoint="/v1/me",le="0.01",method="GET",status="200"} 0',
      'sparki_api_request_duration_seconds_bucket{endpoint="/v1/me",le="0.05",method="GET",status="200"} 1',
      'sparki_api_request_duration_seconds_bucket{endpoint="/v1/me",le="0.1",method="GET",status="200"} 2',
      'sparki_api_request_duration_seconds_bucket{endpoint="/v1/me",le="+Inf",method="GET",status="200"} 2',
      'sparki_api_request_duration_seconds_sum{endpoint="/v1/me",method="GET",status="200"} 0.09000000000000001',
      'sparki_api_request_duration_seconds_count{endpoint="/v1/me",method="GET",status="200"} 2',
      "# HELP sparki_build_success_total Builds that succeeded, by framework (one Sparki detects; `other` for any other name, `unknown` for none).",
      "# TYPE sparki_build_success_total counter",
      'sparki_build_success_total{framework="vite",project="p1"} 3',
      "",
    ].join("\n"),
  );
});

it("merges isolates' deltas and escapes label values", () => {
  const a = new Registry();
  const b = new Registry();
  a.inc("sparki_builds_finished_total", { status: "failed" });
  b.inc("sparki_builds_finished_total", { status: "failed" });
  b.observe("sparki_build_duration_seconds", { project: 'we"ird' }, 42, [10, 60]);
  const total = new Registry();
  total.merge(a.drain());
  total.merge(b.drain());
  expect(a.samples.size).toBe(0);
  const text = total.render();
  expect(text).toContain('sparki_builds_finished_total{status="failed"} 2');
  expect(text).toContain('sparki_build_duration_seconds_bucket{le="60",project="we\\"ird"} 1');
});

it("adds up a gauge told in steps (updown) and renders it as a gauge", () => {
  const total = new Registry();
  const step = (value: number) => ({ kind: "updown" as const, name: "sparki_api_active_connections", labels: { kind: "viewer" }, value });
  total.merge([step(1), step(1), step(1)]);
  total.merge([step(-1)]);
  const text = total.render();
  expect(text).toContain("# TYPE sparki_api_active_connections gauge");
  expect(text).toContain('sparki_api_active_connections{kind="viewer"} 2');
});
