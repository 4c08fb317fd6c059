import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import { pageOf } from "../../core/contracts/common.js";
import { DetectBody, DetectResponse, PipelineVersion, PipelineVersionSummary, snapshotLimits } from "../../core/contracts/pipelines.js";
import { DetectionSchema } from "../../core/detect/schema.ts";
import { SparkiError } from "../../core/errors.js";
import { canonicalJson, sha256Hex } from "../../core/pipeline/index.ts";
import { keys, ttl } from "../../server/cache/keys.js";
import { pipelines } from "../../server/db/schema.js";
import { authorize } from "../services/access.js";
import { latestPipeline, latestPipelineRow, pipelineByVersion, planPipeline, savePipeline } from "../services/pipelines.js";
import { findProject } from "../services/projects.js";
import { authedForProject, json, jsonBody, newRouter, problems } from "./router.js";
import { snapshotKey } from "../../server/r2-keys.js";

export const pipelineRoutes = newRouter();
const ProjectParams = z.object({ id: z.uuid() });
const withProject = authedForProject(keys.latestPipeline);
const configFiles = ["sparki.yml", "sparki.yaml", ".sparki.yml", ".sparki.yaml"];
const Snapshot = z.array(z.object({ path: z.string(), content: z.string() }));

type Files = { path: string; content: string }[];

pipelineRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/projects/{id}/detect",
    tags: ["pipelines"],
    summary: "Detect the stack from manifest and config files, and write the pipeline (a new version only when it changed)",
    ...withProject,
    request: { params: ProjectParams, body: jsonBody(DetectBody) },
    responses: {
      200: { description: "Same pipeline as the newest version", content: json(DetectResponse) },
      201: { description: "A new pipeline version", content: json(DetectResponse) },
      ...problems(400, 401, 403, 404, 413),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { files } = c.req.valid("json");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "pipeline:write", { type: "project", id });
    const tooBig = files.findIndex((f) => new TextEncoder().encode(f.content).length > snapshotLimits.maxFileBytes);
    if (tooBig >= 0) {
      throw new SparkiError("payload_too_large", {
        detail: `${files[tooBig]?.path} is larger than ${snapshotLimits.maxFileBytes} bytes; send manifests and config files only.`,
        errors: [{ pointer: `body.files.${tooBig}.content`, message: `is larger than ${snapshotLimits.maxFileBytes} bytes` }],
      });
    }
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
    const snapshotHash = await sha256Hex(canonicalJson(sorted));
    const configFile = sorted.find((f) => configFiles.includes(f.path));
    // A detection of the same snapshot in the last 5 minutes is reused.
    const cached = await c.var.cache.read(keys.detection(snapshotHash), DetectionSchema);
    const { detection, pipeline: configuration } = await planPipeline(c, {
      files: sorted,
      name: project.name,
      configPath: configFile?.path ?? null,
      detection: cached ?? null,
    });
    if (!cached) await c.var.cache.fill(keys.detection(snapshotHash), detection, ttl.detection);
    const key = snapshotKey(id, snapshotHash);
    await c.env.ARTIFACTS.put(key, JSON.stringify(sorted), { httpMetadata: { contentType: "application/json" } });
    const saved = await savePipeline(c, project, {
      configuration,
      source: "detect",
      detection,
      sparkiYml: configFile?.content ?? null,
      snapshotKey: key,
    });
    return c.json({ detection, pipeline: saved.version, created: saved.created }, saved.created ? 201 : 200);
  },
);

pipelineRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/pipeline",
    tags: ["pipelines"],
    summary: "The project's current pipeline (its newest version)",
    ...withProject,
    request: { params: ProjectParams },
    responses: { 200: { description: "The newest version", content: json(PipelineVersion) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const latest = await latestPipeline(c, id);
    if (!latest) throw new SparkiError("not_found", { detail: "This project has no pipeline yet; POST its files to /detect or PUT a sparki.yml." });
    return c.json(latest, 200);
  },
);

pipelineRoutes.openapi(
  createRoute({
    method: "put",
    path: "/v1/projects/{id}/pipeline",
    tags: ["pipelines"],
    summary: "Set the project's sparki.yml (YAML text); applied over the latest detection",
    ...withProject,
    request: {
      params: ProjectParams,
      body: {
        content: { "application/yaml": { schema: z.string() }, "text/yaml": { schema: z.string() }, "text/plain": { schema: z.string() } },
        required: true,
        description: "The sparki.yml text.",
      },
    },
    responses: {
      200: { description: "Same pipeline as the newest version", content: json(PipelineVersion) },
      201: { description: "A new pipeline version", content: json(PipelineVersion) },
      ...problems(400, 401, 403, 404, 413),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "pipeline:write", { type: "project", id });
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(await c.req.arrayBuffer());
    } catch {
      throw new SparkiError("validation", { detail: "sparki.yml must be UTF-8 text.", errors: [{ pointer: "body", message: "is not valid UTF-8" }] });
    }
    if (text.trim() === "")
      throw new SparkiError("validation", { detail: "Send the sparki.yml text as the request body.", errors: [{ pointer: "body", message: "is empty" }] });
    // Apply the file over the snapshot the newest detection ran on (an empty one before any).
    const previous = await latestPipelineRow(c, id);
    let files: Files = [];
    if (previous?.snapshotKey) {
      const object = await c.env.ARTIFACTS.get(previous.snapshotKey);
      if (object) files = Snapshot.parse(await object.json());
    }
    files = files.filter((f) => !configFiles.includes(f.path)).concat({ path: "sparki.yml", content: text });
    const { pipeline: configuration } = await planPipeline(c, {
      files,
      name: project.name,
      configPath: "sparki.yml",
      detection: previous?.detection ? DetectionSchema.parse(previous.detection) : null,
    });
    const saved = await savePipeline(c, project, {
      configuration,
      source: "sparki.yml",
      detection: null,
      sparkiYml: text,
      snapshotKey: previous?.snapshotKey ?? null,
    });
    return c.json(saved.version, saved.created ? 201 : 200);
  },
);

const VersionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z
    .string()
    .regex(/^v\d{1,9}$/, "is not a valid cursor")
    .optional(),
});

pipelineRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/pipeline/versions",
    tags: ["pipelines"],
    summary: "Every version of the project's pipeline, newest first",
    ...withProject,
    request: { params: ProjectParams, query: VersionsQuery },
    responses: { 200: { description: "A page of versions", content: json(pageOf(PipelineVersionSummary)) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const before = cursor ? Number(cursor.slice(1)) : undefined;
    const db = await c.var.db();
    const rows = await db
      .select({
        id: pipelines.id,
        version: pipelines.version,
        source: pipelines.source,
        contentHash: pipelines.contentHash,
        createdBy: pipelines.createdBy,
        createdAt: pipelines.createdAt,
      })
      .from(pipelines)
      .where(and(eq(pipelines.projectId, id), before === undefined ? undefined : lt(pipelines.version, before)))
      .orderBy(desc(pipelines.version))
      .limit(limit + 1);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((r) => ({ ...r, source: PipelineVersionSummary.shape.source.parse(r.source), createdAt: r.createdAt.toISOString() })),
        nextCursor: more && last ? `v${last.version}` : null,
      },
      200,
    );
  },
);

pipelineRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/pipeline/versions/{version}",
    tags: ["pipelines"],
    summary: "One version of the project's pipeline",
    ...withProject,
    request: { params: z.object({ id: z.uuid(), version: z.coerce.number().int().min(1).max(1_000_000_000) }) },
    responses: { 200: { description: "The version", content: json(PipelineVersion) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id, version } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    return c.json(await pipelineByVersion(c, id, version), 200);
  },
);
