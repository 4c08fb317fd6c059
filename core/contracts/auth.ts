import { z } from "zod";
import { Timestamp } from "./common.js";
import { roles } from "../rbac.js";

const Email = z.email().max(254).transform((e) => e.toLowerCase());
// bcrypt only reads the first 72 bytes; longer passwords would be silently truncated.
const Password = z
  .string()
  .min(8, "must be at least 8 characters")
  .refine((p) => new TextEncoder().encode(p).length <= 72, "must be at most 72 bytes");

export const User = z
  .object({ id: z.uuid(), email: z.string(), name: z.string().nullable(), createdAt: Timestamp })
  .meta({ id: "User" });
export type User = z.infer<typeof User>;

export const SignupBody = z.strictObject({ email: Email, password: Password, name: z.string().trim().min(1).max(255) });
export const LoginBody = z.strictObject({ email: Email, password: z.string().min(1).max(1024) });
/** The refresh token may come in the body (CLI, API) or in the HttpOnly cookie (browser). */
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512).optional() });
export const LogoutBody = RefreshBody;

export const Session = z
  .object({
    user: User,
    accessToken: z.string(),
    refreshToken: z.string(),
    expiresIn: z.number().int().describe("Seconds until the access token expires."),
  })
  .meta({ id: "Session" });
export type Session = z.infer<typeof Session>;

export const MeResponse = z.object({
  user: User,
  workspaces: z.array(z.object({ id: z.uuid(), name: z.string(), slug: z.string(), role: z.enum(roles) })),
});

export const DeleteAccountBody = z.strictObject({ password: z.string().min(1).max(1024) });

export const CreateTokenBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export const ApiToken = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe("The first characters of the token, to recognise it."),
    createdAt: Timestamp,
    lastUsedAt: Timestamp.nullable(),
    expiresAt: Timestamp.nullable(),
  })
  .meta({ id: "ApiToken" });
export const CreatedToken = ApiToken.extend({ token: z.string().describe("Shown once; store it now.") });
