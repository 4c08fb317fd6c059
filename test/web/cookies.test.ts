/**
 * The dashboard's session cookies in a real Chromium, on both names a local stack has
 * (http://127.0.0.1 and http://localhost): `__Host-` cookies must be Secure, and Chromium treats
 * both as secure contexts, so it keeps them over plain http. The page never sees a token, a 401
 * refreshes from the refresh cookie, logout ends the session, and a page on the same host but
 * another port (where a local stack could serve sites; cookies do not tell ports apart) gets
 * nothing done with the visitor's cookies. The account page's password change and "log out
 * everywhere" end the sessions of every browser.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E } from "../e2e/support.js";
import { launch } from "./browser.js";

const e2e = new E2E();
let browser: Browser;
let attacker: Server;
let attackerPort: number;

// The other port's page: with the visitor's cookies (same site, so SameSite lets them through),
// it tries to mint a token and read the profile (CORS stops both in the browser), and sends a
// simple POST that CORS lets through unread: logging the visitor out, which only the API's own
// origin check can refuse.
const attackPage = (api: string) => `<!doctype html><script>
window.attack = async () => {
  const out = [];
  await fetch("${api}/v1/auth/logout", { method: "POST", credentials: "include", mode: "no-cors" });
  for (const [method, path, body] of [["POST", "/v1/tokens", { name: "stolen", scope: "admin" }], ["GET", "/v1/me"]]) {
    try {
      const res = await fetch("${api}" + path, { method, credentials: "include", headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
      out.push(method + " " + res.status + " " + (await res.text()));
    } catch (err) {
      out.push(method + " blocked");
    }
  }
  return out;
};
</script>`;

beforeAll(async () => {
  await e2e.start();
  browser = await launch();
  attacker = createServer((req, res) => {
    const api = new URL(req.url ?? "/", "http://x").searchParams.get("api") ?? "";
    res.writeHead(200, { "content-type": "text/html" }).end(attackPage(api));
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  attackerPort = (attacker.address() as AddressInfo).port;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  attacker?.close();
  await e2e.close();
}, 60_000);

describe("session cookies in Chromium on a local stack", () => {
  for (const host of ["127.0.0.1", "localhost"]) {
    it(`keeps the session in __Host- cookies on http://${host}, out of the page's reach`, async () => {
      const base = `http://${host}:${new URL(e2e.stack.apiUrl).port}`;
      const context = await browser.newContext({ baseURL: base });
      const page = await context.newPage();
      await page.goto("/signup");
      await page.getByLabel("Name").fill("Cookie Tester");
      await page.getByLabel("Email").fill(`cookie-${host}-${Date.now()}@sparki.test`);
      await page.getByLabel("Password").fill("a long enough password");
      await page.getByRole("button", { name: "Sign up" }).click();
      await page.waitForURL("**/workspaces/new");

      const cookies = await context.cookies(base);
      expect(cookies.map((c) => c.name).sort()).toEqual(["__Host-sparki_access", "__Host-sparki_refresh"]);
      for (const c of cookies) expect(c).toMatchObject({ secure: true, httpOnly: true, path: "/", sameSite: "Strict" });
      expect(await page.evaluate("document.cookie")).toBe("");

      const call = (method: string, path: string, body?: unknown) =>
        page.evaluate(
          async ([m, p, b]) => {
            const res = await fetch(p as string, {
              method: m as string,
              headers: b ? { "content-type": "application/json" } : {},
              body: b ? JSON.stringify(b) : undefined,
            });
            return { status: res.status, text: await res.text() };
          },
          [method, path, body] as const,
        );
      expect((await call("POST", "/v1/workspaces", { name: "Cookie team" })).status).toBe(201);

      // The same-host page on another port: the cookies travel, the API refuses the write and
      // CORS keeps the read from the page.
      const evil = await context.newPage();
      await evil.goto(`http://${host}:${attackerPort}/?api=${encodeURIComponent(base)}`);
      const results = (await evil.evaluate("window.attack()")) as string[];
      expect(results.join("\n")).not.toMatch(/spk_|"email"/);
      const mine = await call("GET", "/v1/tokens");
      expect(mine.status, "the other port's logout must not have ended the session").toBe(200);
      expect(JSON.parse(mine.text).items).toEqual([]);

      // No access cookie: the dashboard's client refreshes from the refresh cookie and goes on.
      await context.clearCookies({ name: "__Host-sparki_access" });
      const refreshed = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/auth/refresh" && r.status() === 200);
      const me = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/me" && r.status() === 200);
      await page.goto("/");
      await Promise.all([refreshed, me]);
      expect((await context.cookies(base)).map((c) => c.name)).toContain("__Host-sparki_access");

      // Logout ends the session: the page is back at the login.
      const out = await call("POST", "/v1/auth/logout", {});
      expect(out.status).toBe(204);
      expect((await call("GET", "/v1/me")).status).toBe(401);
      await context.close();
    }, 120_000);
  }

  it("changing the password in the dashboard ends the sessions of every browser; log out everywhere too", async () => {
    const email = `account-${Date.now()}@sparki.test`;
    const signIn = async (password: string) => {
      const context = await browser.newContext({ baseURL: e2e.stack.apiUrl });
      const page = await context.newPage();
      await page.goto("/login");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL("**/workspaces/new");
      const status = async () => page.evaluate(async () => (await fetch("/v1/me")).status);
      return { context, page, status };
    };
    const signup = await e2e.api("POST", "/v1/auth/signup", { email, password: "the first long password", name: "Account" });
    expect(signup.status).toBe(202);

    const here = await signIn("the first long password");
    const elsewhere = await signIn("the first long password");
    await here.page.goto("/account");
    await here.page.getByLabel("Current password").fill("the first long password");
    await here.page.getByLabel(/New password/).fill("the second long password");
    await here.page.getByRole("button", { name: "Change password" }).click();
    await here.page.waitForURL("**/login");
    expect(await elsewhere.status()).toBe(401);
    // The other browser's refresh cookie died too: its client cannot come back.
    expect(
      await elsewhere.page.evaluate(
        async () => (await fetch("/v1/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status,
      ),
    ).toBe(401);

    const again = await signIn("the second long password");
    const other = await signIn("the second long password");
    again.page.once("dialog", (d) => void d.accept());
    await again.page.goto("/account");
    await again.page.getByRole("button", { name: "Log out everywhere" }).click();
    await again.page.waitForURL("**/login");
    expect(await other.status()).toBe(401);
    for (const b of [here, elsewhere, again, other]) await b.context.close();
  }, 120_000);
});
