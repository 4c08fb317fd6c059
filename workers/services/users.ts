import { eq } from "drizzle-orm";
import { z } from "zod";
import type { AuthenticatedUser } from "../app-env.js";
import type { Cache } from "../../server/cache/cache.js";
import { keys, ttl } from "../../server/cache/keys.js";
import type { Db } from "../../server/db/client.js";
import { users } from "../../server/db/schema.js";

/** The user profile as the API shows it. */
export const UserProfile = z.object({ id: z.uuid(), email: z.string(), name: z.string().nullable(), createdAt: z.string() });

/**
 * The profile as cached (1 hour) with when the user last ended every session, so authenticating
 * an access token checks it in the round trip that reads the profile anyway.
 */
export const CachedUser = UserProfile.extend({ sessionsRevokedAt: z.number().nullable().default(null) });
export type CachedUser = z.infer<typeof CachedUser>;

export function toUserView(row: { id: string; email: string; name: string | null; createdAt: Date }): AuthenticatedUser {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.createdAt.toISOString() };
}

/** The profile alone, without what only authentication reads. */
export function profileOf(user: CachedUser): AuthenticatedUser {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt };
}

/** Loads a user from Postgres and refreshes its cache entry; undefined when the user is gone. */
export async function loadUser(db: Db, cache: Cache, userId: string): Promise<CachedUser | undefined> {
  const [row] = await db
    .select({ id: users.id, email: users.email, name: users.name, createdAt: users.createdAt, sessionsRevokedAt: users.sessionsRevokedAt })
    .from(users)
    .where(eq(users.id, userId));
  if (!row) return undefined;
  const cached: CachedUser = { ...toUserView(row), sessionsRevokedAt: row.sessionsRevokedAt?.getTime() ?? null };
  await cache.write(keys.user(userId), cached, ttl.userProfile);
  return cached;
}
