import { z } from "zod";
import { Timestamp } from "./common.js";
import { DetectionSchema } from "../detect/schema.ts";
import { PipelineSchema } from "../pipeline/index.ts";

/** Limits on a detection snapshot: manifests and config files, not a whole repository. */
export const snapshotLimits = { maxFiles: 500, maxFileBytes: 256 * 1024, maxPathLength: 512 } as const;

const SnapshotPath = z
  .string()
  .min(1)
  .max(snapshotLimits.maxPathLength)
  .refine((p) => !p.startsWith("/") && !/^[A-Za-z]:/.test(p), "must be relative to the repository root")
  .refine((p) => !p.split("/").some((part) => part === ".." || part === "." || part === ""), "must not contain '.', '..' or empty segments")
  .refine((p) => !/[\x00-\x1f\\]/.test(p), "must not contain control characters or backslashes");

export const DetectBody = z.strictObject({
  files: z
    .array(z.strictObject({ path: SnapshotPath, content: z.string() }))
    .min(1, "send at least one file")
    .max(snapshotLimits.maxFiles, `send at most ${snapshotLimits.maxFiles} files: manifests and config files only`)
    .refine((files) => new Set(files.map((f) => f.path)).size === files.length, "paths must be unique"),
});

export const PipelineSource = z.enum(["detect", "sparki.yml", "upload"]);

export const PipelineVersionSummary = z
  .object({
    id: z.uuid(),
    version: z.number().int(),
    source: PipelineSource,
    contentHash: z.string(),
    createdBy: z.uuid().nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: "PipelineVersionSummary" });

export const PipelineVersion = PipelineVersionSummary.extend({
  configuration: PipelineSchema,
  sparkiYml: z.string().nullable(),
  /** What the detector found (with its evidence) when this version was made, if it ran. */
  detection: DetectionSchema.nullable(),
}).meta({ id: "PipelineVersion" });
export type PipelineVersion = z.infer<typeof PipelineVersion>;

export const DetectResponse = z.object({
  detection: DetectionSchema,
  pipeline: PipelineVersion,
  /** False when the snapshot produced the same pipeline as the latest version. */
  created: z.boolean(),
});
