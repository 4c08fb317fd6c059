import { z } from "zod";

/**
 * Zod contracts for what the detector returns. They are API contracts (the
 * `POST /v1/projects/:id/detect` response and `sparki detect --json`), so every
 * field is always present and uses `null` for "none" rather than being omitted.
 */

/** Languages the detector can name. */
export const LanguageSchema = z.enum([
  "javascript",
  "typescript",
  "python",
  "ruby",
  "go",
  "rust",
  "java",
  "kotlin",
  "csharp",
  "fsharp",
  "php",
  "elixir",
  "html",
]);
export type Language = z.infer<typeof LanguageSchema>;

/**
 * Package managers (and the build tools that play that role outside JavaScript).
 * Yarn classic and Berry share the id `yarn`; `packageManagerVersion` tells them apart.
 */
export const PackageManagerSchema = z.enum([
  "npm",
  "pnpm",
  "yarn",
  "bun",
  "deno",
  "pip",
  "poetry",
  "uv",
  "pipenv",
  "bundler",
  "go",
  "cargo",
  "maven",
  "gradle",
  "dotnet",
  "composer",
  "mix",
]);
export type PackageManager = z.infer<typeof PackageManagerSchema>;

/** Framework ids are lowercase kebab case naming the tool that owns build and dev. */
export const FrameworkIdSchema = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/);

/** The commands a pipeline runs, each `null` when the project has none. */
export const CommandsSchema = z.object({
  install: z.string().nullable(),
  lint: z.string().nullable(),
  test: z.string().nullable(),
  build: z.string().nullable(),
  start: z.string().nullable(),
});
export type Commands = z.infer<typeof CommandsSchema>;

/** Fields of a detection that evidence can be about. */
export const EvidenceFieldSchema = z.enum([
  "project",
  "language",
  "framework",
  "packageManager",
  "runtime",
  "commands.install",
  "commands.lint",
  "commands.test",
  "commands.build",
  "commands.start",
  "outputDir",
  "apps",
]);
export type EvidenceField = z.infer<typeof EvidenceFieldSchema>;

/** Why the detector gave one answer: the file it read (repo-relative) and the reason. */
export const EvidenceSchema = z.object({
  field: EvidenceFieldSchema,
  file: z.string().nullable(),
  reason: z.string(),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

/** A language runtime and the version the project pins, if any. */
export const RuntimeSchema = z.object({
  name: z.string(),
  version: z.string().nullable(),
});
export type Runtime = z.infer<typeof RuntimeSchema>;

/** One detected project: the whole repository, or one app of a monorepo. */
export const DetectedAppSchema = z.object({
  /** Directory of the project relative to the repository root; "." for the root. */
  path: z.string(),
  name: z.string().nullable(),
  /**
   * Directory the commands run in, relative to the repository root: `path` for a
   * standalone project, "." for a monorepo app (its tool is driven from the root).
   */
  cwd: z.string(),
  language: LanguageSchema.nullable(),
  framework: FrameworkIdSchema.nullable(),
  packageManager: PackageManagerSchema.nullable(),
  /** Exact version from `packageManager`, or "1.x"/">=2" for Yarn inferred from its lockfile. */
  packageManagerVersion: z.string().nullable(),
  /** Repo-relative path of the lockfile the dependency cache is keyed on. */
  lockfile: z.string().nullable(),
  runtime: RuntimeSchema.nullable(),
  commands: CommandsSchema,
  /** Deployable output directory relative to `path`; `null` for servers. */
  outputDir: z.string().nullable(),
  /** 0..1: how sure the detector is of `framework` (and so of the rest). */
  confidence: z.number().min(0).max(1),
  evidence: z.array(EvidenceSchema),
});
export type DetectedApp = z.infer<typeof DetectedAppSchema>;

/**
 * The detector's answer for a repository. The top level describes the project at
 * `path` (a monorepo root gets its tool as `framework`); `apps` lists monorepo apps,
 * or the several projects found in subfolders when the root has none.
 */
export const DetectionSchema = DetectedAppSchema.extend({
  apps: z.array(DetectedAppSchema),
  /** Set when nothing (or nothing definite) was found, saying why. */
  reason: z.string().nullable(),
});
export type Detection = z.infer<typeof DetectionSchema>;
