/**
 * Who a provider account (GitHub, GitLab) signs in as. The provider's numeric id names the
 * account, never its login or email (both change hands). An account already linked signs in as
 * its user; a new one with a verified email nobody uses makes a new user (no password); a new one
 * whose email belongs to an existing account is only linked after that account's password
 * (POST /v1/auth/oauth/link), so owning an address at GitHub is never enough to enter an account.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../../server/db/client.js";
import { userIdentities, users } from "../../server/db/schema.js";
import type { ProviderAccount, ProviderName } from "../../server/sign-in/providers.js";

export type UserRow = typeof users.$inferSelect;

export type SignInOutcome = { kind: "signed_in"; user: UserRow; created: boolean } | { kind: "confirm_link"; user: UserRow } | { kind: "unverified_email" };

export async function resolveAccount(db: Db, provider: ProviderName, account: ProviderAccount): Promise<SignInOutcome> {
  const [linked] = await db
    .select({ user: users, identityId: userIdentities.id })
    .from(userIdentities)
    .innerJoin(users, eq(users.id, userIdentities.userId))
    .where(and(eq(userIdentities.provider, provider), eq(userIdentities.providerUserId, account.id)));
  if (linked) {
    // The login and address as the provider says today, for the account page.
    await db.update(userIdentities).set({ login: account.login, email: account.email }).where(eq(userIdentities.id, linked.identityId));
    return { kind: "signed_in", user: linked.user, created: false };
  }
  if (!account.email) return { kind: "unverified_email" };
  const email = account.email;
  const [existing] = await db.select().from(users).where(eq(users.email, email));
  if (existing) return { kind: "confirm_link", user: existing };
  const created = await db.transaction(async (tx) => {
    const [user] = await tx
      .insert(users)
      .values({ email, name: account.name ?? account.login, passwordHash: null, emailVerified: true })
      .onConflictDoNothing()
      .returning();
    if (!user) return undefined;
    await tx.insert(userIdentities).values({ userId: user.id, provider, providerUserId: account.id, login: account.login, email });
    return user;
  });
  // Someone registered the address (or this account signed in twice at once) in between: decide again.
  return created ? { kind: "signed_in", user: created, created: true } : resolveAccount(db, provider, account);
}

/**
 * Links a provider account to a user whose password was just checked. `taken` when that provider
 * account is another user's, or the user already has another account of that provider.
 */
export async function linkIdentity(
  db: Db,
  userId: string,
  provider: ProviderName,
  account: { id: string; login: string; email: string | null },
): Promise<"linked" | "already_linked" | "taken"> {
  const [row] = await db
    .insert(userIdentities)
    .values({ userId, provider, providerUserId: account.id, login: account.login, email: account.email })
    .onConflictDoNothing()
    .returning({ id: userIdentities.id });
  if (row) return "linked";
  const [mine] = await db
    .select({ id: userIdentities.id })
    .from(userIdentities)
    .where(and(eq(userIdentities.userId, userId), eq(userIdentities.provider, provider), eq(userIdentities.providerUserId, account.id)));
  return mine ? "already_linked" : "taken";
}

/**
 * Removes a user's identity of one provider unless it is their last way in (no password and no
 * other identity). The user's row is locked first, so two unlinks at once cannot both pass the check.
 */
export async function unlinkIdentity(db: Db, userId: string, provider: ProviderName): Promise<"unlinked" | "none" | "last_way_in"> {
  return db.transaction(async (tx) => {
    const [user] = await tx.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId)).for("update");
    const mine = await tx.select({ provider: userIdentities.provider }).from(userIdentities).where(eq(userIdentities.userId, userId));
    if (!user || !mine.some((i) => i.provider === provider)) return "none";
    if (user.passwordHash === null && mine.length < 2) return "last_way_in";
    await tx.delete(userIdentities).where(and(eq(userIdentities.userId, userId), eq(userIdentities.provider, provider)));
    return "unlinked";
  });
}
