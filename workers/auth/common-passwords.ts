/**
 * The common-password rule for new passwords, with the list read once per isolate from the
 * Worker's assets (core/passwords/policy.ts says why it is not in the bundle).
 */
import { commonPasswordMessage, commonPasswordsPath, isCommonPassword, parseCommonPasswords } from "../../core/passwords/policy.js";
import { SparkiError } from "../../core/errors.js";

let loading: Promise<ReadonlySet<string>> | undefined;

/** The list, fetched from `assets` on first use; a failed fetch is retried by the next caller. */
export function commonPasswords(assets: Fetcher): Promise<ReadonlySet<string>> {
  loading ??= loadCommonPasswords(assets).catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

/** The list from `assets`, fetched now; it throws when they hold no list. */
export async function loadCommonPasswords(assets: Fetcher): Promise<ReadonlySet<string>> {
  const res = await assets.fetch(`https://assets.invalid${commonPasswordsPath}`);
  const type = res.headers.get("content-type") ?? "";
  // Failing closed: a deployment without the list must not take every password.
  if (!res.ok || !type.startsWith("text/plain")) {
    await res.body?.cancel();
    throw new Error(`the Worker's assets hold no common-password list (${res.status} ${type}); build them with npm run build:web`);
  }
  return parseCommonPasswords(await res.text());
}

/** A 400 naming the field when `password` is a common one, as the body's other rules answer. */
export async function refuseCommonPassword(assets: Fetcher, password: string, field: string): Promise<void> {
  if (!isCommonPassword(password, await commonPasswords(assets))) return;
  throw new SparkiError("validation", {
    detail: "The request body has 1 invalid field(s).",
    errors: [{ pointer: `json.${field}`, message: commonPasswordMessage }],
  });
}
