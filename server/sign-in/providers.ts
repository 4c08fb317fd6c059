/**
 * Sign in with GitHub or GitLab: each provider as this instance configures it, behind one shape
 * the routes use (workers/routes/oauth.ts). A provider is on when its client id and secret are
 * both set. The protocol pieces are the integrations' own (PKCE S256, state, code exchange, user).
 */
import { outboundProblem } from "../../core/net/outbound.ts";
import type { Config } from "../config.js";
import { GitHubClient } from "../integrations/github/api.ts";
import { authorizeUrl as githubAuthorizeUrl, exchangeCode as githubExchange, pkceChallenge } from "../integrations/github/oauth.ts";
import { GitLabClient, verifiedEmail } from "../integrations/gitlab/api.ts";
import { authorizationUrl as gitlabAuthorizeUrl, exchangeCode as gitlabExchange } from "../integrations/gitlab/oauth.ts";

export const providerNames = ["github", "gitlab"] as const;
export type ProviderName = (typeof providerNames)[number];

/** Who signed in at the provider. `email` is a verified address or null: an unverified one is never returned. */
export interface ProviderAccount {
  id: string;
  login: string;
  name: string | null;
  email: string | null;
}

export interface SignInProvider {
  name: ProviderName;
  /** Where to send the browser. */
  authorizeUrl(o: { state: string; codeVerifier: string; redirectUri: string }): Promise<URL>;
  /** Trades the callback's code (once) for the account; throws when the provider refuses or is unreachable. */
  account(o: { code: string; codeVerifier: string; redirectUri: string }): Promise<ProviderAccount>;
}

const trim = (url: string): string => url.replace(/\/+$/, "");

/** The provider, or null when it is not configured (or its URL is refused, as for the GitHub App). */
export function signInProvider(config: Config, name: ProviderName): SignInProvider | null {
  const policy = { development: config.ALLOW_LOCAL_OUTBOUND };
  if (name === "github") {
    const { GITHUB_CLIENT_ID: clientId, GITHUB_CLIENT_SECRET: clientSecret } = config;
    if (!clientId || !clientSecret) return null;
    const apiUrl = trim(config.GITHUB_API_URL);
    const webUrl = trim(config.GITHUB_WEB_URL);
    // The client secret and the user's token must not go to a plain-http host outside development.
    if (outboundProblem(apiUrl, policy) || outboundProblem(webUrl, policy)) return null;
    const app = { clientId, clientSecret, webUrl };
    return {
      name,
      // read:user and user:email for an OAuth app; a GitHub App ignores scopes and needs its
      // "Email addresses: read" permission instead (README).
      authorizeUrl: async (o) =>
        githubAuthorizeUrl(app, {
          redirectUri: o.redirectUri,
          state: o.state,
          codeChallenge: await pkceChallenge(o.codeVerifier),
          scope: "read:user user:email",
        }),
      async account(o) {
        const token = await githubExchange(app, o);
        const client = new GitHubClient(token.access_token, { apiUrl });
        const [user, emails] = await Promise.all([client.getUser(), client.listUserEmails()]);
        // The primary address, and only if GitHub verified it: anyone can add an unverified one.
        const primary = emails.find((e) => e.primary && e.verified);
        return { id: String(user.id), login: user.login, name: user.name ?? null, email: primary?.email.toLowerCase() ?? null };
      },
    };
  }
  const { GITLAB_CLIENT_ID: clientId, GITLAB_CLIENT_SECRET: clientSecret } = config;
  if (!clientId || !clientSecret) return null;
  const baseUrl = trim(config.GITLAB_URL);
  if (outboundProblem(baseUrl, policy)) return null;
  return {
    name,
    authorizeUrl: (o) => gitlabAuthorizeUrl(baseUrl, { clientId, redirectUri: o.redirectUri }, { state: o.state, codeVerifier: o.codeVerifier }),
    async account(o) {
      const tokens = await gitlabExchange({ baseUrl }, { clientId, clientSecret, redirectUri: o.redirectUri }, o);
      const user = await new GitLabClient(tokens.access_token, { baseUrl }).currentUser();
      return { id: String(user.id), login: user.username, name: user.name || null, email: verifiedEmail(user)?.toLowerCase() ?? null };
    },
  };
}

/** The providers configured here, for the dashboard's login page. */
export function configuredProviders(config: Config): ProviderName[] {
  return providerNames.filter((n) => signInProvider(config, n) !== null);
}
