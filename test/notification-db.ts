/**
 * For the Node tests of notification delivery: Postgres with every migration (PGlite in process),
 * one project, and channels inserted as the API stores them (URL and signing key sealed).
 */
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { notificationEvents, type NotificationPayload } from "../core/contracts/notifications.ts";
import { migrationsFolder } from "../dev/migrate.ts";
import type { Db } from "../server/db/client.ts";
import * as schema from "../server/db/schema.ts";
import { newSigningKey, sealChannelUrl, sealSigningKey, urlHint } from "../server/notifications/channel-keys.ts";

export const SECRETS_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

export interface NotificationDb {
  pg: PGlite;
  db: Db;
  projectId: string;
}

export async function notificationDb(): Promise<NotificationDb> {
  const pg = new PGlite();
  const orm = drizzle(pg, { schema });
  await migrate(orm, { migrationsFolder });
  const db = orm as unknown as Db;
  const [user] = await db.insert(schema.users).values({ email: "o@example.com", passwordHash: "x", name: "o" }).returning();
  const [ws] = await db
    .insert(schema.workspaces)
    .values({ name: "acme", slug: "acme", ownerId: user?.id ?? "" })
    .returning();
  const [p] = await db
    .insert(schema.projects)
    .values({ workspaceId: ws?.id ?? "", name: "shop", gitUrl: "https://example.com/acme/shop.git" })
    .returning();
  return { pg, db, projectId: p?.id ?? "" };
}

/** A channel as the API makes one; the webhook's signing key is returned as the API shows it once. */
export async function addChannel(t: NotificationDb, kind: "webhook" | "slack", url: string): Promise<{ id: string; signingKey: string | null }> {
  const id = crypto.randomUUID();
  const signingKey = kind === "webhook" ? newSigningKey() : null;
  await t.db.insert(schema.notificationChannels).values({
    id,
    projectId: t.projectId,
    kind,
    name: kind,
    urlCiphertext: await sealChannelUrl({ SECRETS_KEY }, t.projectId, id, url),
    urlHint: urlHint(url),
    signingCiphertext: signingKey ? await sealSigningKey({ SECRETS_KEY }, t.projectId, id, signingKey) : null,
    events: [...notificationEvents],
  });
  return { id, signingKey };
}

/** A pending build.failed delivery to `channelId`, as the consumer records one. */
export async function addDelivery(t: NotificationDb, channelId: string): Promise<string> {
  const id = crypto.randomUUID();
  const payload: NotificationPayload = {
    id,
    event: "build.failed",
    occurredAt: new Date().toISOString(),
    project: { id: t.projectId, name: "shop" },
    build: { id: crypto.randomUUID(), number: 3, status: "failed", branch: "main", commitSha: "c".repeat(40), error: "step test exited with 1" },
    url: "https://sparki.example.com/builds/x",
  };
  await t.db.insert(schema.notificationDeliveries).values({ id, channelId, event: "build.failed", occurrence: `build.failed:${id}`, payload });
  return id;
}
