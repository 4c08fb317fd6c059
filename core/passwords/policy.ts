/**
 * The password rules for new passwords (signup, password change): long enough, and not one of
 * the passwords attackers try first. Login never applies them, so old passwords still work.
 *
 * The list itself (common.ts) is data the Worker does not bundle: `npm run build:web` writes it
 * into the dashboard's files, and the API reads it through its ASSETS binding when a new password
 * arrives (workers/auth/common-passwords.ts).
 */
export const minPasswordLength = 10;

/** Where the Worker's assets serve the list, one password a line. */
export const commonPasswordsPath = "/common-passwords.txt";

export const commonPasswordMessage = "is one of the most common passwords; choose another";

/** The list is about 1,600 passwords: far fewer lines means a file that is not it. */
const minListLength = 1000;

/** The list from its text, refusing anything that is not it (an HTML page, an empty file). */
export function parseCommonPasswords(text: string): ReadonlySet<string> {
  const list = text.split("\n").filter((line) => line !== "");
  if (list.length < minListLength || text.includes("<")) throw new Error(`not the common-password list (${list.length} lines)`);
  return new Set(list);
}

/** Whether a password is on the common-password list (case-insensitive). */
export function isCommonPassword(password: string, list: ReadonlySet<string>): boolean {
  return list.has(password.toLowerCase());
}
