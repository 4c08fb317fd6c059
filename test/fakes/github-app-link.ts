/**
 * A stack's GitHub App pointed at the fake, and the steps an admin takes to link an installation
 * to a workspace (the install link's signed state, then GitHub's redirect back to the setup URL),
 * shared by the end-to-end tests and bench/webhook.
 */
import { type Delivery, deliver, installationPayload } from "./github-webhooks.ts";
import type { FakeApp, FakeGitHub } from "./github.ts";

/** The Worker variables that make `app` of the fake the stack's GitHub App. */
export function githubAppVars(gh: FakeGitHub, app: FakeApp, webhookSecret: string): Record<string, string> {
  return {
    GITHUB_APP_ID: String(app.id),
    GITHUB_APP_PRIVATE_KEY: app.privateKey,
    GITHUB_WEBHOOK_SECRET: webhookSecret,
    GITHUB_APP_SLUG: app.slug,
    GITHUB_API_URL: gh.apiUrl,
    GITHUB_WEB_URL: gh.webUrl,
  };
}

/** The install link's URL on GitHub as the dashboard gets it; its `state` is signed for the workspace. */
export async function installLink(apiUrl: string, token: string, workspaceId: string): Promise<{ status: number; url: string; state: string }> {
  const res = await fetch(`${apiUrl}/v1/integrations/github/install?workspaceId=${workspaceId}`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
  });
  if (res.status !== 200) return { status: res.status, url: "", state: `${await res.text()}` };
  const { url } = (await res.json()) as { url: string };
  return { status: res.status, url, state: new URL(url).searchParams.get("state") ?? "" };
}

/** Where GitHub sends the browser back after an install: the setup URL with the installation and the state. */
export function setupUrl(apiUrl: string, installationId: number, state: string): string {
  return `${apiUrl}/v1/integrations/github/setup?installation_id=${installationId}&setup_action=install&state=${encodeURIComponent(state)}`;
}

/** Posts a delivery (or another body under its headers) to the stack's webhook route. */
export function postDelivery(apiUrl: string, d: Delivery, body = d.body): Promise<Response> {
  return fetch(`${apiUrl}/v1/integrations/github/webhook`, { method: "POST", headers: d.headers, body });
}

/** Whom a link is made for: the stack's API, a user's bearer token and their workspace. */
export interface LinkTarget {
  apiUrl: string;
  token: string;
  workspaceId: string;
}

/**
 * Links installation `installationId` to the workspace as an admin does: GitHub announces it
 * (`installation` created), the install link gives the signed state, and the setup redirect
 * with both links it. Throws, with the answer, when a step is refused.
 */
export async function linkInstallation(to: LinkTarget, gh: FakeGitHub, webhookSecret: string, installationId: number): Promise<void> {
  const announced = await postDelivery(to.apiUrl, deliver(webhookSecret, "installation", installationPayload(gh, { action: "created", installationId })));
  if (announced.status !== 202) throw new Error(`the installation event answered ${announced.status}: ${await announced.text()}`);
  const link = await installLink(to.apiUrl, to.token, to.workspaceId);
  if (link.status !== 200) throw new Error(`GET …/github/install answered ${link.status}: ${link.state}`);
  const setup = await fetch(setupUrl(to.apiUrl, installationId, link.state), { redirect: "manual" });
  if (setup.status !== 302) throw new Error(`GET …/github/setup answered ${setup.status}: ${await setup.text()}`);
}
