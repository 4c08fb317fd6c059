/** Sign in with GitHub or GitLab, as the dashboard reads it (mirrors core/contracts/oauth.ts). */
import { arr, bool, literalTrue, nullable, obj, oneOf, str } from "./check.ts";

export const OAuthProvider = oneOf(["github", "gitlab"] as const);
export const AuthProviders = obj({ password: literalTrue, oauth: arr(OAuthProvider) });
export const PendingLink = obj({ provider: OAuthProvider, login: str, email: str });
export const Identity = obj({ provider: OAuthProvider, login: str, email: nullable(str), linkedAt: str });
export const Identities = obj({ items: arr(Identity), hasPassword: bool });
export const LinkStart = obj({ url: str });

export const providerLabel = { github: "GitHub", gitlab: "GitLab" } as const;

/** What the login page says for the callback's `?oauth_error=` reasons. */
export const oauthErrors: Record<string, string> = {
  denied: "Signing in was cancelled at the provider.",
  state: "That sign-in link is not valid or was already used. Start again.",
  expired: "Signing in took too long. Start again.",
  browser: "That sign-in was started in another browser. Start again here.",
  provider: "The provider refused the sign-in or could not be reached. Try again.",
  unverified_email: "Your account at the provider has no verified primary email address. Verify it there, then try again.",
  taken: "That account is already linked to another Sparki account.",
};
