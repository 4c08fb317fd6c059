/**
 * Public surface of the detector: `detect(tree)` and the zod contracts of its result.
 * Everything else in this folder is an implementation detail.
 */
export { detect } from "./detect.ts";
export { memoryTree, type FileTree } from "./tree.ts";
export {
  CommandsSchema,
  DetectedAppSchema,
  DetectionSchema,
  EvidenceFieldSchema,
  EvidenceSchema,
  FrameworkIdSchema,
  LanguageSchema,
  PackageManagerSchema,
  RuntimeSchema,
  type Commands,
  type DetectedApp,
  type Detection,
  type Evidence,
  type EvidenceField,
  type Language,
  type PackageManager,
  type Runtime,
} from "./schema.ts";
