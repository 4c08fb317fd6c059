import type { DetectedApp, Detection, EvidenceField } from "../detect/schema.ts";
import type { Overrides, SparkiConfig } from "./schema.ts";

const SOURCE = "sparki.yml";

/**
 * Applies one overrides block to one detected app, field by field. A field sparki.yml sets has
 * sparki.yml as its evidence in place of the detector's, so each value shows where it came from.
 */
export function applyOverrides<T extends DetectedApp>(app: T, overrides: Overrides, where = SOURCE): T {
  let evidence = [...app.evidence];
  const note = (field: EvidenceField, what: string) => {
    evidence = evidence.filter((e) => e.field !== field);
    evidence.push({ field, file: where, reason: `set in sparki.yml: ${what}` });
  };
  const out: T = { ...app, commands: { ...app.commands } };
  if (overrides.language !== undefined) {
    out.language = overrides.language;
    note("language", String(overrides.language));
  }
  if (overrides.framework !== undefined) {
    out.framework = overrides.framework;
    // An explicit answer is certain; the detector's guess no longer matters.
    out.confidence = 1;
    note("framework", String(overrides.framework));
  }
  if (overrides.packageManager !== undefined) {
    out.packageManager = overrides.packageManager;
    if (overrides.packageManager !== app.packageManager) out.packageManagerVersion = null;
    note("packageManager", String(overrides.packageManager));
  }
  if (overrides.runtimeVersion !== undefined) {
    out.runtime = out.runtime ? { ...out.runtime, version: overrides.runtimeVersion } : null;
    note("runtime", String(overrides.runtimeVersion));
  }
  for (const kind of ["install", "lint", "test", "build", "start"] as const) {
    const value = overrides.commands?.[kind];
    if (value === undefined) continue;
    out.commands[kind] = value;
    note(`commands.${kind}`, value ?? "null (skipped)");
  }
  if (overrides.outputDir !== undefined) {
    out.outputDir = overrides.outputDir;
    note("outputDir", String(overrides.outputDir));
  }
  out.evidence = evidence;
  return out;
}

/**
 * The detection as sparki.yml amends it: top-level keys override the project
 * (or monorepo root), `apps.<path>` keys override one app.
 */
export function applyConfig(detection: Detection, config: SparkiConfig): Detection {
  const top = applyOverrides(detection, config);
  return {
    ...top,
    apps: detection.apps.map((app) => {
      const overrides = config.apps[app.path];
      return overrides ? applyOverrides(app, overrides) : app;
    }),
  };
}
