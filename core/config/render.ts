import { Document } from "yaml";
import type { DetectedApp, Detection } from "../detect/schema.ts";

function overridesOf(app: DetectedApp): Record<string, unknown> {
  return {
    language: app.language,
    framework: app.framework,
    packageManager: app.packageManager,
    ...(app.runtime?.version ? { runtimeVersion: app.runtime.version } : {}),
    commands: { ...app.commands },
    outputDir: app.outputDir,
  };
}

/**
 * A sparki.yml that pins what was detected, for `sparki init`. Every detected
 * value is written out so the file documents the pipeline; deleting a key hands
 * that field back to detection.
 */
export function renderSparkiConfig(detection: Detection): string {
  const body: Record<string, unknown> = { version: 1, ...overridesOf(detection) };
  if (detection.apps.length > 0) body.apps = Object.fromEntries(detection.apps.map((a) => [a.path, overridesOf(a)]));
  body.pipeline = { branches: ["*"], pullRequests: true, runnerLabels: ["linux"] };
  const doc = new Document(body);
  doc.commentBefore =
    " sparki.yml: written by `sparki init` from what Sparki detected.\n Every key is optional; remove one to let detection decide it again.\n Add deployments: [{ stage: production, platform: sparki-static }] to deploy.";
  return doc.toString({ lineWidth: 0 });
}
