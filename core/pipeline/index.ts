/** The pipeline model: detection + sparki.yml → jobs, and its canonical serialisation. */
export { cachePaths, sha256Hex } from "./cache.ts";
export { canonicalJson } from "./canonical.ts";
export { FIND_OUTPUT_ENV, generatePipeline, type PipelineInput } from "./generate.ts";
export {
  CacheSchema,
  JobSchema,
  PipelineSchema,
  StageNameSchema,
  StepSchema,
  type Cache,
  type Job,
  type Pipeline,
  type StageName,
  type Step,
} from "./schema.ts";
