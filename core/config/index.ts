/** sparki.yml: its schema, a parser with line/column errors, and how it amends a detection. */
export { applyConfig, applyOverrides } from "./merge.ts";
export { formatConfigIssues, parseSparkiConfig, type ConfigIssue, type ConfigParseResult } from "./parse.ts";
export { renderSparkiConfig } from "./render.ts";
export {
  DeploymentSchema,
  HealthCheckSchema,
  OverridesSchema,
  PipelineSettingsSchema,
  SparkiConfigSchema,
  type Deployment,
  type Overrides,
  type PipelineSettings,
  type SparkiConfig,
} from "./schema.ts";
