/**
 * A project's notification channels: owners and admins add (the webhook's signing key is shown in
 * that answer only), change and remove them, and send a test; every member reads them and their
 * delivery log. A channel's URL is never shown again past its scheme and host: for Slack it is
 * the credential. What is sent, and when, is server/notifications/.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { PageQuery } from "../../core/contracts/common.js";
import {
  Channel,
  ChannelCreated,
  ChannelList,
  CreateChannel,
  Delivery,
  DeliveryList,
  notificationEvents,
  UpdateChannel,
} from "../../core/contracts/notifications.js";
import { SparkiError } from "../../core/errors.js";
import { outboundProblem } from "../../core/net/outbound.js";
import { notificationChannels, notificationDeliveries, projects } from "../../server/db/schema.js";
import { newSigningKey, sealChannelUrl, sealSigningKey, urlHint } from "../../server/notifications/channel-keys.js";
import { prune } from "../../server/notifications/record.js";
import type { AppEnv } from "../app-env.js";
import { queueAttempts } from "../notifications.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { cursorTimestampSql, decodeCursor, toPage } from "../services/pagination.js";
import { findProject } from "../services/projects.js";
import { authedForProject, json, jsonBody, newRouter, problems } from "./router.js";

export const notificationRoutes = newRouter();
const Params = z.object({ id: z.uuid() });
const ChannelParams = z.object({ id: z.uuid(), channelId: z.uuid() });
/** Channels per project: each event is one delivery per channel. */
export const MAX_CHANNELS = 20;

type ChannelRow = typeof notificationChannels.$inferSelect;
type DeliveryRow = typeof notificationDeliveries.$inferSelect;

function channelView(r: ChannelRow): Channel {
  return {
    id: r.id,
    projectId: r.projectId,
    kind: r.kind === "slack" ? "slack" : "webhook",
    name: r.name,
    urlHint: r.urlHint,
    events: Channel.shape.events.parse(r.events),
    enabled: r.enabled,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

function deliveryView(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    channelId: r.channelId,
    event: Delivery.shape.event.parse(r.event),
    status: Delivery.shape.status.parse(r.status),
    attempts: r.attempts,
    responseStatus: r.responseStatus,
    error: r.error,
    createdAt: r.createdAt.toISOString(),
    lastAttemptAt: r.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
  };
}

/** The project, after checking the caller may do `permission` on it. */
async function projectFor(c: Context<AppEnv>, id: string, permission: "project:read" | "notifications:manage") {
  const project = await findProject(c, id);
  await authorize(c, project.workspaceId, permission, { type: "project", id });
  return project;
}

async function findChannel(c: Context<AppEnv>, projectId: string, channelId: string): Promise<ChannelRow> {
  const db = await c.var.db();
  const [row] = await db
    .select()
    .from(notificationChannels)
    .where(and(eq(notificationChannels.id, channelId), eq(notificationChannels.projectId, projectId)));
  if (!row) throw new SparkiError("not_found", { detail: "The project has no such notification channel." });
  return row;
}

notificationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/projects/{id}/notifications",
    tags: ["notifications"],
    summary: "Add a notification channel: an outgoing webhook (its signing key is in this answer only) or a Slack incoming webhook",
    description:
      "The URL must pass the instance's outbound policy (https to a public host). A webhook's deliveries are signed: `X-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the body>` under the signing key, with `X-Sparki-Delivery` and `X-Sparki-Event`.",
    ...authedForProject(),
    request: { params: Params, body: jsonBody(CreateChannel) },
    responses: { 201: { description: "The channel", content: json(ChannelCreated) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const project = await projectFor(c, id, "notifications:manage");
    const refused = outboundProblem(body.url, { development: c.var.config.ALLOW_LOCAL_OUTBOUND === true });
    if (refused) {
      throw new SparkiError("validation", { detail: `The channel URL ${refused}.`, errors: [{ pointer: "body.url", message: refused }] });
    }
    const channelId = crypto.randomUUID();
    const signingKey = body.kind === "webhook" ? newSigningKey() : null;
    const urlCiphertext = await sealChannelUrl(c.var.config, id, channelId, body.url);
    const signingCiphertext = signingKey ? await sealSigningKey(c.var.config, id, channelId, signingKey) : null;
    const db = await c.var.db();
    const row = await db.transaction(async (tx) => {
      // The project row's lock orders concurrent adds, so the cap holds.
      await tx.select({ id: projects.id }).from(projects).where(eq(projects.id, id)).for("update");
      const [{ count } = { count: 0 }] = await tx
        .select({ count: sql<number>`count(*)::int` })
        .from(notificationChannels)
        .where(eq(notificationChannels.projectId, id));
      if (count >= MAX_CHANNELS) throw new SparkiError("conflict", { detail: `A project has at most ${MAX_CHANNELS} notification channels.` });
      const [saved] = await tx
        .insert(notificationChannels)
        .values({
          id: channelId,
          projectId: id,
          kind: body.kind,
          name: body.name ?? `${body.kind} ${urlHint(body.url).replace(/^https?:\/\//, "")}`.slice(0, 100),
          urlCiphertext,
          urlHint: urlHint(body.url),
          signingCiphertext,
          events: body.events ? [...new Set(body.events)] : [...notificationEvents],
          createdBy: c.var.auth.user.id,
        })
        .returning();
      if (!saved) throw new Error("insert returned no row");
      await audit(c, tx, {
        eventType: "data",
        action: "notification_channel.create",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: { channelId, kind: body.kind, urlHint: saved.urlHint },
      });
      return saved;
    });
    return c.json({ ...channelView(row), signingSecret: signingKey }, 201);
  },
);

notificationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/notifications",
    tags: ["notifications"],
    summary: "The project's notification channels (never their URLs past scheme and host, never a signing key)",
    ...authedForProject(),
    request: { params: Params },
    responses: { 200: { description: "The channels", content: json(ChannelList) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await projectFor(c, id, "project:read");
    const db = await c.var.db();
    const rows = await db.select().from(notificationChannels).where(eq(notificationChannels.projectId, id)).orderBy(notificationChannels.createdAt);
    return c.json({ items: rows.map(channelView) }, 200);
  },
);

notificationRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/v1/projects/{id}/notifications/{channelId}",
    tags: ["notifications"],
    summary: "Rename a channel, change its events, or turn it off and on",
    ...authedForProject(),
    request: { params: ChannelParams, body: jsonBody(UpdateChannel) },
    responses: { 200: { description: "The channel", content: json(Channel) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id, channelId } = c.req.valid("param");
    const body = c.req.valid("json");
    const project = await projectFor(c, id, "notifications:manage");
    await findChannel(c, id, channelId);
    const db = await c.var.db();
    const row = await db.transaction(async (tx) => {
      const [saved] = await tx
        .update(notificationChannels)
        .set({
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.events !== undefined ? { events: [...new Set(body.events)] } : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
          updatedAt: new Date(),
        })
        .where(and(eq(notificationChannels.id, channelId), eq(notificationChannels.projectId, id)))
        .returning();
      if (!saved) throw new SparkiError("not_found", { detail: "The project has no such notification channel." });
      await audit(c, tx, {
        eventType: "data",
        action: "notification_channel.update",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: { channelId, ...body },
      });
      return saved;
    });
    return c.json(channelView(row), 200);
  },
);

notificationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/projects/{id}/notifications/{channelId}",
    tags: ["notifications"],
    summary: "Remove a channel and its delivery log; attempts still queued find nothing to send",
    ...authedForProject(),
    request: { params: ChannelParams },
    responses: { 204: { description: "Removed" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id, channelId } = c.req.valid("param");
    const project = await projectFor(c, id, "notifications:manage");
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(notificationChannels)
        .where(and(eq(notificationChannels.id, channelId), eq(notificationChannels.projectId, id)))
        .returning({ id: notificationChannels.id });
      if (!row) throw new SparkiError("not_found", { detail: "The project has no such notification channel." });
      await audit(c, tx, {
        eventType: "data",
        action: "notification_channel.delete",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: { channelId },
      });
    });
    return c.body(null, 204);
  },
);

notificationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/notifications/{channelId}/deliveries",
    tags: ["notifications"],
    summary: "A channel's delivery log, newest first: each notification's attempts, last HTTP status and error",
    ...authedForProject(),
    request: { params: ChannelParams, query: PageQuery },
    responses: { 200: { description: "A page of deliveries", content: json(DeliveryList) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id, channelId } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    await projectFor(c, id, "project:read");
    await findChannel(c, id, channelId);
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const db = await c.var.db();
    const rows = await db
      .select({
        delivery: notificationDeliveries,
        cursorTs: sql<string>`${sql.raw(cursorTimestampSql('"notification_deliveries"."created_at"'))}`,
        id: notificationDeliveries.id,
      })
      .from(notificationDeliveries)
      .where(
        and(
          eq(notificationDeliveries.channelId, channelId),
          after ? sql`(${notificationDeliveries.createdAt}, ${notificationDeliveries.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(notificationDeliveries.createdAt), desc(notificationDeliveries.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (r) => deliveryView(r.delivery)),
      200,
    );
  },
);

notificationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/projects/{id}/notifications/{channelId}/test",
    tags: ["notifications"],
    summary: "Send the channel a `ping` notification now; its outcome appears in the delivery log",
    ...authedForProject(),
    request: { params: ChannelParams },
    responses: { 202: { description: "The delivery, queued", content: json(Delivery) }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id, channelId } = c.req.valid("param");
    const project = await projectFor(c, id, "notifications:manage");
    await findChannel(c, id, channelId);
    const deliveryId = crypto.randomUUID();
    const db = await c.var.db();
    const [row] = await db
      .insert(notificationDeliveries)
      .values({
        id: deliveryId,
        channelId,
        event: "ping",
        occurrence: `ping:${deliveryId}`,
        payload: {
          id: deliveryId,
          event: "ping",
          occurredAt: new Date().toISOString(),
          project: { id, name: project.name },
          url: c.var.config.PUBLIC_URL ? new URL(`/projects/${id}`, c.var.config.PUBLIC_URL).toString() : null,
        },
      })
      .returning();
    if (!row) throw new Error("insert returned no row");
    await prune(db, channelId);
    await queueAttempts(c.env, [deliveryId]);
    await audit(c, db, {
      eventType: "data",
      action: "notification_channel.test",
      result: "success",
      workspaceId: project.workspaceId,
      resourceType: "project",
      resourceId: id,
      details: { channelId },
    });
    return c.json(deliveryView(row), 202);
  },
);
