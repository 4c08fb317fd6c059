/**
 * The GitHub App as this instance is configured (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY,
 * GITHUB_WEBHOOK_SECRET, GITHUB_APP_SLUG, GITHUB_API_URL, GITHUB_WEB_URL): GitHub features are off
 * until the first three are set, and every GitHub route then answers one clear problem.
 */
import { SparkiError } from "../../core/errors.js";
import { outboundProblem } from "../../core/net/outbound.ts";
import type { Config } from "../config.js";
import type { AppCredentials } from "../integrations/github/app-auth.ts";
import type { GitHubTransport } from "../integrations/github/http.ts";

export interface GitHubApp {
  credentials: AppCredentials;
  webhookSecret: string;
  /** Null when GITHUB_APP_SLUG is unset: no install link can be made. */
  slug: string | null;
  transport: GitHubTransport;
  webUrl: string;
}

/** The app, or null when GitHub is not configured. */
export function gitHubAppOf(config: Config): GitHubApp | null {
  const { GITHUB_APP_ID: appId, GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_WEBHOOK_SECRET: webhookSecret } = config;
  if (!appId || !privateKey || !webhookSecret) return null;
  return {
    credentials: { appId, privateKey },
    webhookSecret,
    slug: config.GITHUB_APP_SLUG ?? null,
    transport: { apiUrl: config.GITHUB_API_URL.replace(/\/+$/, "") },
    webUrl: config.GITHUB_WEB_URL.replace(/\/+$/, ""),
  };
}

/** The app, or a 404 problem saying GitHub is not configured here. */
export function requireGitHubApp(config: Config): GitHubApp {
  const app = gitHubAppOf(config);
  if (!app) {
    throw new SparkiError("not_found", {
      detail: "GitHub is not configured on this instance: set GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_WEBHOOK_SECRET (README, Connect GitHub).",
    });
  }
  // An admin's typo (or a plain-http URL outside development) must not send the app's JWT anywhere.
  const refused = outboundProblem(app.transport.apiUrl ?? "", { development: config.ALLOW_LOCAL_OUTBOUND });
  if (refused) throw new SparkiError("conflict", { detail: `GITHUB_API_URL ${refused}.` });
  return app;
}
