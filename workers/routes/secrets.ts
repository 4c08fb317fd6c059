import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import { EnvName, RunnerLimits } from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import { minSecretLength } from "../../core/log/secret-forms.ts";
import { secrets } from "../../server/db/schema.js";
import { sealProjectSecret } from "../../server/secrets/project-secrets.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { findProject } from "../services/projects.js";
import { authedForProject, json, jsonBody, newRouter, problems } from "./router.js";

export const secretRoutes = newRouter();
const SecretParams = z.object({ id: z.uuid(), name: EnvName });
const SecretInfo = z.object({ name: z.string(), createdAt: z.string(), updatedAt: z.string() }).meta({ id: "Secret" });
const SecretValue = z.string().max(RunnerLimits.secretValueBytes);
const tooShort = `must be at least ${minSecretLength} characters, so it can be masked in logs without hiding ordinary text`;

secretRoutes.openapi(
  createRoute({
    method: "put",
    path: "/v1/projects/{id}/secrets/{name}",
    tags: ["secrets"],
    summary: "Create or replace a secret; its value is never shown again",
    ...authedForProject(),
    request: { params: SecretParams, body: jsonBody(z.strictObject({ value: SecretValue })) },
    responses: {
      200: { description: "Replaced", content: json(SecretInfo) },
      201: { description: "Created", content: json(SecretInfo) },
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id, name } = c.req.valid("param");
    const { value } = c.req.valid("json");
    if (value.length < minSecretLength) {
      throw new SparkiError("validation", { detail: `A secret's value ${tooShort}.`, errors: [{ pointer: "body.value", message: tooShort }] });
    }
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "secrets:write", { type: "project", id });
    const ciphertext = await sealProjectSecret(c.var.config, id, name, value);
    const db = await c.var.db();
    const { row, created } = await db.transaction(async (tx) => {
      const [existing] = await tx
        .select({ id: secrets.id })
        .from(secrets)
        .where(and(eq(secrets.projectId, id), eq(secrets.name, name)));
      const [saved] = await tx
        .insert(secrets)
        .values({ projectId: id, name, ciphertext, createdBy: c.var.auth.user.id })
        .onConflictDoUpdate({ target: [secrets.projectId, secrets.name], set: { ciphertext, updatedAt: new Date() } })
        .returning();
      if (!saved) throw new Error("upsert returned no row");
      await audit(c, tx, {
        eventType: "data",
        action: existing ? "secret.update" : "secret.create",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "secret",
        resourceId: saved.id,
        details: { projectId: id, name },
      });
      return { row: saved, created: !existing };
    });
    return c.json({ name: row.name, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() }, created ? 201 : 200);
  },
);

secretRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/secrets",
    tags: ["secrets"],
    summary: "The project's secrets: names and dates, never values",
    ...authedForProject(),
    request: { params: z.object({ id: z.uuid() }) },
    responses: { 200: { description: "Secrets", content: json(z.object({ items: z.array(SecretInfo) })) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const db = await c.var.db();
    const rows = await db
      .select({ name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
      .from(secrets)
      .where(eq(secrets.projectId, id))
      .orderBy(asc(secrets.name));
    return c.json({ items: rows.map((r) => ({ name: r.name, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() })) }, 200);
  },
);

secretRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/projects/{id}/secrets/{name}",
    tags: ["secrets"],
    summary: "Delete a secret",
    ...authedForProject(),
    request: { params: SecretParams },
    responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id, name } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "secrets:write", { type: "project", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(secrets)
        .where(and(eq(secrets.projectId, id), eq(secrets.name, name)))
        .returning({ id: secrets.id });
      if (!row) throw new SparkiError("not_found", { detail: `The project has no secret ${name}.` });
      await audit(c, tx, {
        eventType: "data",
        action: "secret.delete",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "secret",
        resourceId: row.id,
        details: { projectId: id, name },
      });
    });
    return c.body(null, 204);
  },
);
