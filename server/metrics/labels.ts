/**
 * Label values that come from what tenants write: each is mapped onto a small fixed set, so no
 * workspace can grow /metrics' series (and Prometheus' memory) by naming things.
 */
import { isDetectedFramework } from "../../core/detect/frameworks.ts";
import { PREVIEW_STAGE } from "../../core/deploy/preview.ts";

/**
 * A build's framework as a label: one the detector gives, `unknown` when none was detected, and
 * `other` for a name only a pipeline or sparki.yml claims (either may say anything).
 */
export function frameworkLabel(framework: string | null | undefined): string {
  if (!framework) return "unknown";
  return isDetectedFramework(framework) ? framework : "other";
}

/** The conventional stage names, and the usual short forms of each, by the label they get. */
const stageRoles: Readonly<Record<string, readonly string[]>> = {
  production: ["production", "prod", "live"],
  staging: ["staging", "stage", "stg", "preprod", "pre-production"],
  qa: ["qa", "test", "testing", "uat"],
  development: ["development", "dev"],
};
const roleOfStage: ReadonlyMap<string, string> = new Map(Object.entries(stageRoles).flatMap(([role, names]) => names.map((name) => [name, role])));

/**
 * A deployment stage's name as a label. sparki.yml names stages freely, so only the conventional
 * names keep theirs (short forms folded in: `prod` is `production`) and every other name is
 * `other`: an operator alerting on production's failures or slow deploys reads one series
 * whatever each project calls its stage, and no project adds series by naming one. Pull request
 * previews (`pr-<n>`, one per pull request) are all `preview`.
 */
export function stageLabel(stage: string, trigger: "push" | "manual" | "preview"): string {
  if (trigger === "preview" || PREVIEW_STAGE.test(stage)) return "preview";
  return roleOfStage.get(stage) ?? "other";
}
