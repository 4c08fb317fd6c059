import bcrypt from "bcryptjs";

/** bcrypt hash of a password at the configured cost. */
export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

// A hash of a random password at the configured cost: comparing against it when the user does
// not exist makes "no such user" take as long as "wrong password", so timing reveals no accounts.
const decoys = new Map<number, Promise<string>>();
function decoyHash(cost: number): Promise<string> {
  let decoy = decoys.get(cost);
  if (!decoy) {
    decoy = bcrypt.hash(crypto.randomUUID(), cost);
    decoys.set(cost, decoy);
  }
  return decoy;
}

/**
 * Checks a password against a stored hash, or against a decoy when there is no such user or the
 * account has no password (made by signing in with GitHub or GitLab): the same time either way.
 */
export async function verifyPassword(password: string, hash: string | null | undefined, cost: number): Promise<boolean> {
  const ok = await bcrypt.compare(password, hash ?? (await decoyHash(cost)));
  return hash != null && ok;
}
