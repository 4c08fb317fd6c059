import { z } from "zod";
import { FrameworkIdSchema, LanguageSchema, PackageManagerSchema } from "../detect/schema.ts";
import { PREVIEW_STAGE } from "../deploy/preview.ts";

const kebab = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const command = z.string().min(1).nullable();

/**
 * Fields that override the detection, one for one. A key left out keeps the
 * detected value; `null` clears it (e.g. `commands: { lint: null }` skips lint).
 */
export const OverridesSchema = z
  .object({
    language: LanguageSchema.nullable(),
    framework: FrameworkIdSchema.nullable(),
    packageManager: PackageManagerSchema.nullable(),
    runtimeVersion: z.string().min(1).nullable(),
    commands: z.object({ install: command, lint: command, test: command, build: command, start: command }).partial().strict(),
    outputDir: z.string().min(1).nullable(),
  })
  .partial()
  .strict();
export type Overrides = z.infer<typeof OverridesSchema>;

/**
 * HTTP health check run after each deployment stage: a path on the stage's own address (for
 * sparki-static, the deployed version itself), or a full URL.
 */
export const HealthCheckSchema = z
  .object({
    path: z.string().startsWith("/").optional(),
    url: z.url({ protocol: /^https?$/ }).optional(),
    expectedStatus: z.number().int().min(100).max(599).default(200),
    intervalSeconds: z.number().int().min(1).max(3600).default(10),
    timeoutSeconds: z.number().int().min(1).max(300).default(5),
    healthyThreshold: z.number().int().min(1).max(100).default(3),
    unhealthyThreshold: z.number().int().min(1).max(100).default(3),
  })
  .strict()
  .refine((h) => (h.path === undefined) !== (h.url === undefined), { message: "give the health check either a path or a url" });

/** One deployment stage; stages run in the order written. */
export const DeploymentSchema = z
  .object({
    stage: z.string().regex(kebab, "stage names are lowercase kebab case"),
    platform: z.enum(["sparki-static", "script", "railway", "render", "fly", "vercel"]),
    /** Which app to deploy in a monorepo (its path); defaults to the project itself. */
    app: z.string().min(1).optional(),
    branches: z.array(z.string().min(1)).min(1).default(["main"]),
    strategy: z.enum(["all-at-once", "blue-green", "canary"]).default("all-at-once"),
    /** Traffic percentages a canary goes through, ending at 100. */
    canarySteps: z.array(z.number().int().min(1).max(100)).min(1).optional(),
    /** The least time each canary step holds before the next, beyond its passing health checks. */
    canaryPauseSeconds: z.number().int().min(0).max(86_400).optional(),
    /** A person approves before this stage is deployed. */
    approval: z.boolean().default(false),
    script: z.string().min(1).optional(),
    /** For platform script: what puts the previous version back (gets SPARKI_ROLLBACK_TO_COMMIT). */
    rollbackScript: z.string().min(1).optional(),
    /** The platform adapter's settings (service ids and the like). */
    settings: z.record(z.string(), z.unknown()).default({}),
    healthCheck: HealthCheckSchema.optional(),
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (PREVIEW_STAGE.test(d.stage)) ctx.addIssue({ code: "custom", path: ["stage"], message: "stage names pr-<number> are kept for pull request previews" });
    if (d.platform === "script" && !d.script) ctx.addIssue({ code: "custom", path: ["script"], message: "platform script needs a script to run" });
    if (d.strategy === "canary" && !d.canarySteps)
      ctx.addIssue({ code: "custom", path: ["canarySteps"], message: "strategy canary needs canarySteps, e.g. [10, 50, 100]" });
    if (d.strategy !== "canary" && d.canarySteps) ctx.addIssue({ code: "custom", path: ["canarySteps"], message: "canarySteps only apply to strategy canary" });
    if (d.canarySteps && d.canarySteps.at(-1) !== 100) ctx.addIssue({ code: "custom", path: ["canarySteps"], message: "canarySteps end at 100" });
    if (d.canarySteps?.some((step, i) => i > 0 && step <= (d.canarySteps?.[i - 1] ?? 0)))
      ctx.addIssue({ code: "custom", path: ["canarySteps"], message: "canarySteps go up" });
    if (d.rollbackScript && d.platform !== "script")
      ctx.addIssue({ code: "custom", path: ["rollbackScript"], message: "rollbackScript only applies to platform script" });
  });
export type Deployment = z.infer<typeof DeploymentSchema>;

/** Pipeline-wide settings. */
export const PipelineSettingsSchema = z
  .object({
    /** Branches whose pushes build; "*" means every branch. */
    branches: z.array(z.string().min(1)).min(1).default(["*"]),
    pullRequests: z.boolean().default(true),
    /**
     * Tags whose pushes build (exact names or globs, as `branches`; "*" means every tag). Left
     * out: every pushed tag builds; `[]`: none does.
     */
    tags: z.array(z.string().min(1)).optional(),
    /**
     * Whether a newer build of the same branch (or pull request) cancels the older one still
     * queued or running. Left out: on for builds started by a git host (pushes, pull requests),
     * off for builds started through the API or CLI. `true` turns it on for those too, `false`
     * turns it off for all.
     */
    cancelSuperseded: z.boolean().optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names are letters, digits and _"), z.string()).default({}),
    timeoutMinutes: z.number().int().min(1).max(1440).optional(),
    runnerLabels: z.array(z.string().min(1)).min(1).default(["linux"]),
    cachePaths: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type PipelineSettings = z.infer<typeof PipelineSettingsSchema>;

/** The whole sparki.yml. */
export const SparkiConfigSchema = OverridesSchema.extend({
  version: z.literal(1).default(1),
  /** Per-app overrides in a monorepo, keyed by the app's path. */
  apps: z.record(z.string().min(1), OverridesSchema).default({}),
  pipeline: PipelineSettingsSchema.default(PipelineSettingsSchema.parse({})),
  deployments: z.array(DeploymentSchema).default([]),
})
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.deployments.forEach((d, i) => {
      if (seen.has(d.stage)) ctx.addIssue({ code: "custom", path: ["deployments", i, "stage"], message: `stage ${d.stage} appears twice` });
      seen.add(d.stage);
    });
  });
export type SparkiConfig = z.infer<typeof SparkiConfigSchema>;
