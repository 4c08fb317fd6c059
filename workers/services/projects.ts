import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { Project } from "../../core/contracts/projects.js";
import type { AppEnv } from "../app-env.js";
import { keys, ttl } from "../../server/cache/keys.js";
import { projects } from "../../server/db/schema.js";
import { notFound } from "./access.js";

type ProjectRow = typeof projects.$inferSelect;

export function projectView(p: ProjectRow): Project {
  return {
    id: p.id,
    workspaceId: p.workspaceId,
    name: p.name,
    gitUrl: p.gitUrl,
    defaultBranch: p.defaultBranch,
    framework: p.framework,
    language: p.language,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** A project's metadata from the 1-hour cache or Postgres; 404 when there is none. */
export async function findProject(c: Context<AppEnv>, id: string): Promise<Project> {
  const cached = await c.var.cache.read(keys.project(id), Project);
  if (cached) return cached;
  const db = await c.var.db();
  const [row] = await db.select().from(projects).where(eq(projects.id, id));
  if (!row) throw notFound({ type: "project", id });
  const view = projectView(row);
  await c.var.cache.fill(keys.project(id), view, ttl.projectMetadata);
  return view;
}
