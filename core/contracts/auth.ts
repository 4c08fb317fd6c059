import { z } from "zod";
import { Timestamp } from "./common.js";
import { roles } from "../rbac.js";
import { minPasswordLength } from "../passwords/policy.js";
import { scopes } from "../scopes.js";

const Email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
/**
 * A new password (signup, change): login takes any string, so older passwords still work. The API
 * also refuses the most common passwords (workers/auth/common-passwords.ts), from a list it reads
 * from its assets rather than carries.
 */
// bcrypt only reads the first 72 bytes; longer passwords would be silently truncated.
const NewPassword = z
  .string()
  .min(minPasswordLength, `must be at least ${minPasswordLength} characters`)
  .refine((p) => new TextEncoder().encode(p).length <= 72, "must be at most 72 bytes");

export const User = z.object({ id: z.uuid(), email: z.string(), name: z.string().nullable(), createdAt: Timestamp }).meta({ id: "User" });
export type User = z.infer<typeof User>;

export const SignupBody = z.strictObject({ email: Email, password: NewPassword, name: z.string().trim().min(1).max(255) });
/** The same answer whether or not the email was already registered: the client then logs in. */
export const SignupAccepted = z.object({ status: z.literal("accepted"), detail: z.string() }).meta({ id: "SignupAccepted" });

/**
 * How the client keeps its session: `token` (CLI, API: both tokens in the answer, no cookie) or
 * `cookie` (the dashboard: HttpOnly cookies, no token in the answer a page script could read).
 */
export const SessionMode = z.enum(["token", "cookie"]);
export const LoginBody = z.strictObject({ email: Email, password: z.string().min(1).max(1024), session: SessionMode.default("token") });
/** The refresh token comes in the body (CLI, API) or in the HttpOnly cookie (browser). */
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512).optional() });
export const LogoutBody = RefreshBody;

export const Session = z
  .object({
    user: User,
    accessToken: z.string().optional().describe("Absent when the session lives in cookies."),
    refreshToken: z.string().optional().describe("Absent when the session lives in cookies."),
    expiresIn: z.number().int().describe("Seconds until the access token expires."),
  })
  .meta({ id: "Session" });
export type Session = z.infer<typeof Session>;
/** A `token` session's answer (CLI, API): both tokens present. */
export const TokenSession = Session.extend({ accessToken: z.string(), refreshToken: z.string() });
export type TokenSession = z.infer<typeof TokenSession>;

/** Every session and refresh family of the user ends; the client logs in with the new password. */
export const ChangePasswordBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword: NewPassword });

export const MeResponse = z.object({
  user: User,
  workspaces: z.array(z.object({ id: z.uuid(), name: z.string(), slug: z.string(), role: z.enum(roles) })),
});

export const DeleteAccountBody = z.strictObject({ password: z.string().min(1).max(1024) });

export const TokenScope = z.enum(scopes).describe("read: reading only; write: everything but administration; admin: everything.");
export const CreateTokenBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
  scope: TokenScope.optional().describe("Defaults to the caller's own scope; never broader than it."),
});
export const ApiToken = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe("The first characters of the token, to recognise it."),
    createdAt: Timestamp,
    lastUsedAt: Timestamp.nullable(),
    expiresAt: Timestamp.nullable(),
    scope: TokenScope,
  })
  .meta({ id: "ApiToken" });
export const CreatedToken = ApiToken.extend({ token: z.string().describe("Shown once; store it now.") });
