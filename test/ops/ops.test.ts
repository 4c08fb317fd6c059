/**
 * ops/: the Grafana dashboard and the Prometheus alerts an operator imports. The dashboard is
 * checked against the fields of Grafana's dashboard model that an import needs (a zod schema:
 * Grafana publishes its model as CUE and TypeScript types, not as a JSON schema on npm); every
 * PromQL expression of both files is parsed with Prometheus' own grammar (@prometheus-io/lezer-promql)
 * and every metric it reads must be one /metrics exports (metricCatalog in server/metrics/registry.ts).
 * `promtool check rules` (in .ci/run) checks the alert file as Prometheus loads it.
 */
import { readFileSync } from "node:fs";
import { parser } from "@prometheus-io/lezer-promql";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { metricCatalog } from "../../server/metrics/registry.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

const GridPos = z
  .object({ h: z.number().int().positive(), w: z.number().int().min(1).max(24), x: z.number().int().min(0).max(23), y: z.number().int().min(0) })
  .refine((g) => g.x + g.w <= 24, "a panel must fit Grafana's 24 columns");
const Datasource = z.object({ type: z.literal("prometheus"), uid: z.string().min(1) });
const Target = z.object({ refId: z.string().min(1), expr: z.string().min(1), datasource: Datasource.optional(), legendFormat: z.string().optional() });
const Row = z.object({
  id: z.number().int().positive(),
  type: z.literal("row"),
  title: z.string().min(1),
  gridPos: GridPos,
  collapsed: z.boolean(),
  panels: z.array(z.unknown()),
});
const Panel = z.object({
  id: z.number().int().positive(),
  type: z.enum(["timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text"]),
  title: z.string().min(1),
  gridPos: GridPos,
  datasource: Datasource,
  targets: z
    .array(Target)
    .min(1)
    .refine((ts) => new Set(ts.map((t) => t.refId)).size === ts.length, "refIds must be unique within a panel"),
  fieldConfig: z.object({ defaults: z.record(z.string(), z.unknown()), overrides: z.array(z.unknown()) }),
  options: z.record(z.string(), z.unknown()),
  description: z.string().optional(),
});
const Variable = z.object({
  name: z.string().regex(/^\w+$/),
  type: z.enum(["datasource", "query", "custom", "constant", "interval", "textbox"]),
  query: z.union([z.string(), z.object({ query: z.string(), refId: z.string() })]),
});
/** The dashboard model's top level as Grafana reads an imported file (schemaVersion 36 and up). */
const Dashboard = z.object({
  uid: z.string().regex(/^[\w-]{1,40}$/),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(36),
  version: z.number().int().nonnegative(),
  editable: z.boolean(),
  tags: z.array(z.string()),
  timezone: z.string(),
  refresh: z.string(),
  time: z.object({ from: z.string(), to: z.string() }),
  annotations: z.object({ list: z.array(z.unknown()) }),
  templating: z.object({ list: z.array(Variable) }),
  panels: z
    .array(z.union([Row, Panel]))
    .min(1)
    .refine((ps) => new Set(ps.map((p) => p.id)).size === ps.length, "panel ids must be unique"),
});

const Rule = z.strictObject({
  alert: z.string().regex(/^[A-Za-z_][\w]*$/),
  expr: z.string().min(1),
  for: z.string().regex(/^\d+[smhd]$/),
  labels: z.object({ severity: z.enum(["warning", "critical"]) }),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }),
});
const RuleFile = z.strictObject({ groups: z.array(z.strictObject({ name: z.string().min(1), rules: z.array(Rule).min(1) })).min(1) });

/** Series names /metrics exports: each catalog name, and a histogram's _bucket, _sum and _count. */
const exported = new Set(
  Object.entries(metricCatalog).flatMap(([name, { type }]) => (type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])),
);

/** The metric names an expression reads; throws where Prometheus' grammar finds a syntax error. */
function metricsOf(expr: string): string[] {
  const names: string[] = [];
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") names.push(expr.slice(node.from, node.to));
    },
  });
  if (errors.length > 0) throw new Error(`PromQL syntax error at ${errors[0]} in: ${expr}`);
  return names;
}

const dashboard = Dashboard.parse(JSON.parse(read("ops/grafana/sparki.json")));
const alerts = RuleFile.parse(parseYaml(read("ops/prometheus/alerts.yml")));
const panelExprs = dashboard.panels.flatMap((p) => ("targets" in p ? p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })) : []));
const variableExprs = dashboard.templating.list.flatMap((v) => {
  const query = typeof v.query === "string" ? v.query : v.query.query;
  const selector = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1];
  return v.type === "query" ? [{ where: `variable ${v.name}`, expr: selector ?? query }] : [];
});
const alertExprs = alerts.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));

describe("ops/", () => {
  it("the dashboard covers builds, queue and runners, deployments and rollbacks, API latency and errors", () => {
    const rows = dashboard.panels.filter((p) => p.type === "row").map((p) => p.title);
    expect(rows).toEqual(["Builds", "Queue and runners", "Deployments and rollbacks", "API"]);
    expect(panelExprs.length).toBeGreaterThanOrEqual(12);
  });

  it("the alerts cover build failures, queue wait, runners, rollbacks and 5xx", () => {
    expect(alertExprs.map((a) => a.where)).toEqual([
      "alert SparkiBuildFailureRateHigh",
      "alert SparkiQueueWaitHigh",
      "alert SparkiNoRunnerOnline",
      "alert SparkiRollbackRateHigh",
      "alert SparkiApi5xxRateHigh",
    ]);
  });

  it("every expression parses as PromQL and reads only metrics /metrics exports", () => {
    const unknown: string[] = [];
    for (const { where, expr } of [...panelExprs, ...variableExprs, ...alertExprs]) {
      const names = metricsOf(expr);
      expect(names.length, `${where} reads no metric`).toBeGreaterThan(0);
      for (const name of names) if (!exported.has(name)) unknown.push(`${where}: ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it("the check refuses a metric /metrics does not export and a broken expression", () => {
    expect(metricsOf('sum(rate(sparki_builds_started_total{status="x"}[5m]))').filter((n) => !exported.has(n))).toEqual(["sparki_builds_started_total"]);
    expect(() => metricsOf("sum(rate(sparki_builds_finished_total[5m])")).toThrow(/syntax error/);
    expect(exported.has("sparki_queue_wait_seconds_bucket")).toBe(true);
    expect(exported.has("sparki_queue_wait_seconds")).toBe(false);
  });
});
