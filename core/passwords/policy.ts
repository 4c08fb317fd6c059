/**
 * The password rules for new passwords (signup, password change): long enough, and not one of
 * the passwords attackers try first. Login never applies them, so old passwords still work.
 */
import { commonPasswords } from "./common.ts";

export const minPasswordLength = 10;

let common: ReadonlySet<string> | undefined;

/** Whether a password is on the common-password list (case-insensitive). */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(commonPasswords.split("\n"));
  return common.has(password.toLowerCase());
}
