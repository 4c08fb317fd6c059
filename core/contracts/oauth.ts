/** Sign in with GitHub or GitLab: the providers configured, pending links and linked identities. */
import { z } from "zod";
import { Timestamp } from "./common.js";

export const OAuthProvider = z.enum(["github", "gitlab"]);
export type OAuthProvider = z.infer<typeof OAuthProvider>;

export const AuthProviders = z
  .object({
    password: z.literal(true).describe("Email and password always work."),
    oauth: z.array(OAuthProvider).describe("The providers whose sign-in button the login page shows."),
  })
  .meta({ id: "AuthProviders" });

/** Where to go after signing in: a path on the dashboard, never another origin. */
export const ReturnTo = z
  .string()
  .max(512)
  .regex(/^\/(?![/\\])[^\s\\]*$/, "must be a path on this site (starting with one /)");

export const OAuthStartQuery = z.object({ returnTo: ReturnTo.optional() });

export const OAuthCallbackQuery = z.object({
  code: z.string().max(512).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

/** The provider account waiting to be linked to the existing account with its email. */
export const PendingLink = z
  .object({ provider: OAuthProvider, login: z.string(), email: z.string().describe("The existing account's email (the provider's verified address).") })
  .meta({ id: "PendingLink" });

/** The dashboard sends it; the session comes back in cookies, as a dashboard login does. */
export const ConfirmLinkBody = z.strictObject({ password: z.string().min(1).max(1024) });

export const Identity = z.object({ provider: OAuthProvider, login: z.string(), email: z.string().nullable(), linkedAt: Timestamp }).meta({ id: "Identity" });
export const Identities = z
  .object({ items: z.array(Identity), hasPassword: z.boolean().describe("Whether the account can also log in with a password.") })
  .meta({ id: "Identities" });

/** Where the dashboard sends the browser to authorize the account to link (the flow is bound to it by a cookie). */
export const LinkStart = z.object({ url: z.url() }).meta({ id: "LinkStart" });
