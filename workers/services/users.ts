import { eq } from "drizzle-orm";
import { z } from "zod";
import type { AuthenticatedUser } from "../app-env.js";
import type { Cache } from "../cache/cache.js";
import { keys, ttl } from "../cache/keys.js";
import type { Db } from "../db/client.js";
import { users } from "../db/schema.js";

/** The user profile as cached (1 hour) and as the API shows it. */
export const CachedUser = z.object({ id: z.uuid(), email: z.string(), name: z.string().nullable(), createdAt: z.string() });

export function toUserView(row: { id: string; email: string; name: string | null; createdAt: Date }): AuthenticatedUser {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.createdAt.toISOString() };
}

/** Loads a user profile from Postgres and refreshes its cache entry; undefined when the user is gone. */
export async function loadUser(db: Db, cache: Cache, userId: string): Promise<AuthenticatedUser | undefined> {
  const [row] = await db
    .select({ id: users.id, email: users.email, name: users.name, createdAt: users.createdAt })
    .from(users)
    .where(eq(users.id, userId));
  if (!row) return undefined;
  const view = toUserView(row);
  await cache.write(keys.user(userId), view, ttl.userProfile);
  return view;
}
