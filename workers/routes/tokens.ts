import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { z } from "zod";
import { ApiToken, CreatedToken, CreateTokenBody } from "../../core/contracts/auth.js";
import { SparkiError } from "../../core/errors.js";
import { scopeCovers, scopes } from "../../core/scopes.js";
import { hashToken, newToken } from "../auth/tokens.js";
import { keys } from "../../server/cache/keys.js";
import { apiTokens } from "../../server/db/schema.js";
import { requireScope } from "../middleware/authenticate.js";
import { audit } from "../services/audit.js";
import { authed, json, jsonBody, newRouter, problems } from "./router.js";

export const tokenRoutes = newRouter();

type TokenRow = typeof apiTokens.$inferSelect;
const view = (t: TokenRow) => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: t.createdAt.toISOString(),
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  expiresAt: t.expiresAt?.toISOString() ?? null,
  scope: z.enum(scopes).parse(t.scope),
});

tokenRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/tokens",
    tags: ["tokens"],
    summary: "Create a personal API token (shown once), never broader than the caller",
    ...authed,
    request: { body: jsonBody(CreateTokenBody) },
    responses: { 201: { description: "Created", content: json(CreatedToken) }, ...problems(400, 401, 403) },
  }),
  async (c) => {
    const { name, expiresInDays } = c.req.valid("json");
    // Tokens are credentials: only an admin-scoped caller (a session or admin token) mints them,
    // and never one broader than itself.
    requireScope(c, "admin", "creating an API token");
    const scope = c.req.valid("json").scope ?? c.var.auth.scope;
    if (!scopeCovers(c.var.auth.scope, scope)) {
      throw new SparkiError("forbidden", { detail: `A token with the '${c.var.auth.scope}' scope cannot create one with the '${scope}' scope.` });
    }
    const token = newToken("api");
    const db = await c.var.db();
    const created = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(apiTokens)
        .values({
          userId: c.var.auth.user.id,
          name,
          prefix: token.slice(0, 12),
          tokenHash: await hashToken(token),
          expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null,
          scope,
        })
        .returning();
      if (!row) throw new Error("insert returned no row");
      await audit(c, tx, {
        eventType: "data",
        action: "token.create",
        result: "success",
        resourceType: "api_token",
        resourceId: row.id,
        details: { name, scope },
      });
      return row;
    });
    return c.json({ ...view(created), token }, 201);
  },
);

tokenRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/tokens",
    tags: ["tokens"],
    summary: "List the caller's API tokens (never their values)",
    ...authed,
    responses: { 200: { description: "Tokens", content: json(z.object({ items: z.array(ApiToken) })) }, ...problems(401) },
  }),
  async (c) => {
    const db = await c.var.db();
    const rows = await db.select().from(apiTokens).where(eq(apiTokens.userId, c.var.auth.user.id)).orderBy(desc(apiTokens.createdAt));
    return c.json({ items: rows.map(view) }, 200);
  },
);

tokenRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/tokens/{id}",
    tags: ["tokens"],
    summary: "Delete an API token; it stops working at once",
    ...authed,
    request: { params: z.object({ id: z.uuid() }) },
    responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    requireScope(c, "admin", "deleting an API token");
    const db = await c.var.db();
    const deleted = await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(apiTokens)
        .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, c.var.auth.user.id)))
        .returning({ tokenHash: apiTokens.tokenHash });
      if (!row) throw new SparkiError("not_found", { detail: `No API token with id ${id}.` });
      await audit(c, tx, { eventType: "data", action: "token.delete", result: "success", resourceType: "api_token", resourceId: id });
      return row;
    });
    await c.var.cache.remove(keys.apiToken(deleted.tokenHash));
    return c.body(null, 204);
  },
);
