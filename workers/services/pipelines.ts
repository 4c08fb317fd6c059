import { desc, eq, sql, and } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { PipelineVersion, PipelineSource } from "../../core/contracts/pipelines.js";
import type { ConfigIssue } from "../../core/config/parse.ts";
import { PlanOutcome, type PlanRequest } from "../../core/planner/contract.ts";
import { SparkiError } from "../../core/errors.js";
import { canonicalJson, sha256Hex, type Pipeline } from "../../core/pipeline/index.ts";
import { DetectionSchema, type Detection } from "../../core/detect/schema.ts";
import type { AppEnv } from "../app-env.js";
import { keys, ttl } from "../../server/cache/keys.js";
import { pipelines, projects } from "../../server/db/schema.js";
import { audit } from "./audit.js";

type PipelineRow = typeof pipelines.$inferSelect;

export function pipelineView(row: PipelineRow): PipelineVersion {
  return {
    id: row.id,
    version: row.version,
    source: PipelineSource.parse(row.source),
    contentHash: row.contentHash,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    configuration: row.configuration as Pipeline,
    sparkiYml: row.sparkiYml,
    detection: row.detection === null ? null : DetectionSchema.parse(row.detection),
  };
}

/** A project's newest pipeline version (cached 5 minutes), or undefined before the first one. */
export async function latestPipeline(c: Context<AppEnv>, projectId: string): Promise<PipelineVersion | undefined> {
  const Cached = z.object({ latest: PipelineVersion.nullable() });
  const { latest } = await c.var.cache.getOrLoad(keys.latestPipeline(projectId), ttl.pipeline, Cached, async () => {
    const row = await latestPipelineRow(c, projectId);
    return { latest: row ? pipelineView(row) : null };
  });
  return latest ?? undefined;
}

/** The stored row of the newest version, with the detection and snapshot it came from. */
export async function latestPipelineRow(c: Context<AppEnv>, projectId: string): Promise<PipelineRow | undefined> {
  const db = await c.var.db();
  const [row] = await db.select().from(pipelines).where(eq(pipelines.projectId, projectId)).orderBy(desc(pipelines.version)).limit(1);
  return row;
}

export async function pipelineByVersion(c: Context<AppEnv>, projectId: string, version: number): Promise<PipelineVersion> {
  const Cached = z.object({ found: PipelineVersion.nullable() });
  const { found } = await c.var.cache.getOrLoad(keys.pipelineVersion(projectId, version), ttl.pipeline, Cached, async () => {
    const db = await c.var.db();
    const [row] = await db
      .select()
      .from(pipelines)
      .where(and(eq(pipelines.projectId, projectId), eq(pipelines.version, version)));
    return { found: row ? pipelineView(row) : null };
  });
  if (!found) throw new SparkiError("not_found", { detail: `The project has no pipeline version ${version}.` });
  return found;
}

export interface NewPipeline {
  configuration: Pipeline;
  source: z.infer<typeof PipelineSource>;
  detection: Detection | null;
  sparkiYml: string | null;
  snapshotKey: string | null;
  /** Who made it; defaults to the calling user (a runner's upload has none). */
  createdBy?: string | null;
}

/**
 * Stores a pipeline as the project's next version, unless its canonical JSON equals the newest
 * version's (then that version is returned). The project row is locked so two concurrent saves
 * cannot both take the same version number.
 */
export async function savePipeline(
  c: Context<AppEnv>,
  project: { id: string; workspaceId: string; name: string },
  input: NewPipeline,
): Promise<{ version: PipelineVersion; created: boolean }> {
  const contentHash = await sha256Hex(canonicalJson(input.configuration));
  const db = await c.var.db();
  const result = await db.transaction(async (tx) => {
    await tx.execute(sql`select id from ${projects} where id = ${project.id} for update`);
    const [latest] = await tx.select().from(pipelines).where(eq(pipelines.projectId, project.id)).orderBy(desc(pipelines.version)).limit(1);
    if (latest && latest.contentHash === contentHash) return { row: latest, created: false };
    const [row] = await tx
      .insert(pipelines)
      .values({
        projectId: project.id,
        name: project.name,
        configuration: input.configuration,
        version: (latest?.version ?? 0) + 1,
        contentHash,
        source: input.source,
        detection: input.detection,
        sparkiYml: input.sparkiYml,
        snapshotKey: input.snapshotKey,
        createdBy: input.createdBy === undefined ? c.var.auth.user.id : input.createdBy,
      })
      .returning();
    if (!row) throw new Error("insert returned no row");
    if (input.detection) {
      await tx
        .update(projects)
        .set({ framework: input.detection.framework, language: input.detection.language, updatedAt: new Date() })
        .where(eq(projects.id, project.id));
    }
    await audit(c, tx, {
      userId: input.createdBy === undefined ? undefined : input.createdBy,
      eventType: "data",
      action: "pipeline.version_create",
      result: "success",
      workspaceId: project.workspaceId,
      resourceType: "pipeline",
      resourceId: row.id,
      details: { projectId: project.id, version: row.version, source: input.source, contentHash },
    });
    return { row, created: true };
  });
  if (result.created) await c.var.cache.remove(keys.latestPipeline(project.id), keys.project(project.id));
  return { version: pipelineView(result.row), created: result.created };
}

/** A 400 naming each sparki.yml problem by line and column. */
export function configError(issues: readonly ConfigIssue[], file: string): SparkiError {
  return new SparkiError("validation", {
    detail: `${file} has ${issues.length} problem(s).`,
    errors: issues.map((i) => ({ pointer: `${file}:${i.line}:${i.column}${i.path ? ` (${i.path})` : ""}`, message: i.message })),
  });
}

/**
 * The snapshot's detection and pipeline from the planner Worker (planner/), its answer parsed like
 * any other boundary's; a sparki.yml it refuses is the caller's 400.
 */
export async function planPipeline(c: Context<AppEnv>, request: PlanRequest): Promise<{ detection: Detection; pipeline: Pipeline }> {
  const outcome = PlanOutcome.parse(await c.env.PLANNER.plan(request));
  if (!outcome.ok) throw configError(outcome.issues, request.configPath ?? "sparki.yml");
  return outcome;
}
