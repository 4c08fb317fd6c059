/**
 * Beginning a sign-in (or link) with GitHub or GitLab: the flow's row (oauth_flows) and the
 * browser's nonce cookie, shared by the login button (GET /v1/auth/oauth/:provider/start) and the
 * account page's "Link" (POST /v1/me/identities/:provider).
 */
import { lt } from "drizzle-orm";
import type { Context } from "hono";
import { SparkiError } from "../../core/errors.js";
import { oauthFlows } from "../../server/db/schema.js";
import { randomToken } from "../../server/integrations/gitlab/oauth.ts";
import { type ProviderName, type SignInProvider, signInProvider } from "../../server/sign-in/providers.js";
import type { AppEnv } from "../app-env.js";
import { flowTtlSeconds, setFlowCookie } from "../auth/oauth-cookies.js";
import { hashToken } from "../auth/tokens.js";

export function providerOr404(c: Context<AppEnv>, name: ProviderName): SignInProvider {
  const provider = signInProvider(c.var.config, name);
  if (!provider)
    throw new SparkiError("not_found", { detail: `Signing in with ${name} is not configured on this instance (README, Sign in with GitHub or GitLab).` });
  return provider;
}

/** The callback URL registered with the provider: on PUBLIC_URL when set, so it matches behind a proxy. */
export function callbackUrl(c: Context<AppEnv>, name: ProviderName): string {
  return `${c.var.config.PUBLIC_URL ? new URL(c.var.config.PUBLIC_URL).origin : new URL(c.req.url).origin}/v1/auth/oauth/${name}/callback`;
}

/** Stores a new flow, binds it to this browser, and answers where to send the browser. */
export async function beginFlow(c: Context<AppEnv>, name: ProviderName, o: { returnTo: string; linkUserId?: string }): Promise<URL> {
  const provider = providerOr404(c, name);
  const state = randomToken();
  const codeVerifier = randomToken();
  const nonce = randomToken();
  const db = await c.var.db();
  // Flows nobody finished go here, a few at a time, rather than in a scheduled job.
  await db.delete(oauthFlows).where(lt(oauthFlows.expiresAt, new Date()));
  await db.insert(oauthFlows).values({
    stateHash: await hashToken(state),
    provider: name,
    codeVerifier,
    browserHash: await hashToken(nonce),
    returnTo: o.returnTo,
    linkUserId: o.linkUserId ?? null,
    expiresAt: new Date(Date.now() + flowTtlSeconds * 1000),
  });
  setFlowCookie(c, nonce);
  return provider.authorizeUrl({ state, codeVerifier, redirectUri: callbackUrl(c, name) });
}
