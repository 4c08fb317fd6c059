import { hostname } from "node:os";
import type { Command } from "commander";
import type { TokenSession } from "../../core/contracts/auth.ts";
import { ApiClient, EXIT } from "../api.ts";
import { configPath, loadConfig, removeConfig, resolveSettings, saveConfig, type GlobalFlags } from "../config.ts";
import { act, prompt, readStdin } from "../context.ts";
import { createToken, endSession, login, me, revokeToken, signup } from "../endpoints.ts";
import { printFields, printJson, printTable } from "../output.ts";
import { UserError } from "../../node/user-error.ts";

interface LoginFlags extends GlobalFlags {
  email?: string;
  passwordStdin?: boolean;
  token?: string;
}

interface SignupFlags extends GlobalFlags {
  email?: string;
  name?: string;
  passwordStdin?: boolean;
}

/** A session (from login or signup) traded for a long-lived API token named after this machine; the session is ended. */
async function tokenFromSession(api: ApiClient, session: TokenSession): Promise<{ token: string; tokenId: string }> {
  // Admin scope: the CLI manages members, tokens and secrets too.
  const created = await createToken(api.withToken(session.accessToken), `sparki CLI on ${hostname()}`, { scope: "admin" });
  // The API token is what we keep; the session's refresh token would only be a second secret on disk.
  await endSession(api.withToken(session.accessToken), session.refreshToken).catch(() => undefined);
  return { token: created.token, tokenId: created.id };
}

/** Saves the token (0600) with the server and a workspace, and says so. */
async function saveLogin(
  api: ApiClient,
  url: string,
  token: string,
  tokenId: string | undefined,
  json: boolean | undefined,
  verb = "Logged in to",
): Promise<void> {
  const who = await me(api.withToken(token));
  const previous = await loadConfig();
  const keepWorkspace = previous.workspaceId && who.workspaces.some((w) => w.id === previous.workspaceId) ? previous.workspaceId : undefined;
  const workspaceId = keepWorkspace ?? (who.workspaces.length === 1 ? who.workspaces[0]?.id : undefined);
  await saveConfig({ url, token, tokenId, workspaceId });
  // Logging in again replaces the token this CLI made before; revoke it rather than leave it live.
  if (previous.token && previous.tokenId && previous.token !== token && (previous.url ?? url) === url) {
    await revokeToken(api.withToken(previous.token), previous.tokenId).catch(() => undefined);
  }
  if (json) return printJson({ user: who.user, url, workspaceId: workspaceId ?? null, config: configPath() });
  process.stdout.write(`${verb} ${url} as ${who.user.email}; token saved in ${configPath()}\n`);
  if (!who.workspaces.length) process.stderr.write("You have no workspace yet; next: sparki workspaces create NAME\n");
}

/**
 * `sparki login`: trades email and password for a session, uses it to make a long-lived API
 * token named after this machine, ends the session, and saves only the API token (0600).
 * `--token` saves a token made elsewhere after checking it.
 */
async function loginAction(flags: LoginFlags): Promise<void> {
  const settings = await resolveSettings(flags);
  const api = new ApiClient({ url: settings.url });
  if (flags.token) return saveLogin(api, settings.url, flags.token === "-" ? await readStdin() : flags.token, undefined, flags.json);
  const email = flags.email ?? (await prompt("Email: "));
  const password = flags.passwordStdin ? await readStdin() : await prompt("Password: ", true);
  const { token, tokenId } = await tokenFromSession(api, await login(api, email, password));
  await saveLogin(api, settings.url, token, tokenId, flags.json);
}

/**
 * `sparki signup`: creates the account, then logs in as `login` does (API token saved, session
 * ended). Signup answers the same for a registered email, so a wrong password shows at login.
 */
async function signupAction(flags: SignupFlags): Promise<void> {
  const settings = await resolveSettings(flags);
  const api = new ApiClient({ url: settings.url });
  const email = flags.email ?? (await prompt("Email: "));
  let password: string;
  if (flags.passwordStdin) password = await readStdin();
  else {
    password = await prompt("Password (10 characters or more): ", true);
    if ((await prompt("Password again: ", true)) !== password) throw new UserError("the two passwords differ; nothing was created", EXIT.usage);
  }
  const name = flags.name?.trim() || email.split("@")[0] || email;
  await signup(api, { email, password, name });
  const { token, tokenId } = await tokenFromSession(api, await login(api, email, password));
  await saveLogin(api, settings.url, token, tokenId, flags.json, "Signed up to");
}

/**
 * `sparki password`: changes the account's password. Every session of the account ends (the
 * dashboard logs in again); API tokens, this CLI's included, keep working. With
 * `--password-stdin`, stdin holds the current password, then the new one, a line each.
 */
async function passwordAction(api: ApiClient, passwordStdin: boolean | undefined): Promise<void> {
  let currentPassword: string;
  let newPassword: string;
  if (passwordStdin) {
    const [current = "", next = ""] = (await readStdin()).split(/\r?\n/);
    [currentPassword, newPassword] = [current, next];
  } else {
    currentPassword = await prompt("Current password: ", true);
    newPassword = await prompt("New password (10 characters or more): ", true);
    if ((await prompt("New password again: ", true)) !== newPassword) throw new UserError("the two new passwords differ; nothing was changed", EXIT.usage);
  }
  if (!currentPassword || !newPassword) throw new UserError("give the current password and the new one, a line each on stdin", EXIT.usage);
  await api.send("POST", "/v1/me/password", { currentPassword, newPassword });
  process.stdout.write("Password changed; every session of the account ended (API tokens, this CLI's included, keep working).\n");
}

export function registerAuth(program: Command): void {
  program
    .command("password")
    .description("change your password; ends every session of the account (API tokens stay)")
    .option("--password-stdin", "read the current password, then the new one, a line each from stdin")
    .action(act(async ({ api, opts }) => passwordAction(api, opts.passwordStdin as boolean | undefined)));

  program
    .command("login")
    .description("log in and save a long-lived API token (or save the token given with --token)")
    .option("--email <email>", "your account's email (asked for when missing)")
    .option("--password-stdin", "read the password from stdin")
    .option("--token <token>", "an API token (spk_…) to save instead of logging in; '-' reads it from stdin")
    .action(async (_opts: unknown, cmd: Command) => loginAction(cmd.optsWithGlobals<LoginFlags>()));

  program
    .command("signup")
    .description("create an account, then log in as 'login' does (asks for the password twice)")
    .option("--email <email>", "your email (asked for when missing)")
    .option("--name <name>", "your name (default: the email's part before @)")
    .option("--password-stdin", "read the password from stdin")
    .action(async (_opts: unknown, cmd: Command) => signupAction(cmd.optsWithGlobals<SignupFlags>()));

  program
    .command("logout")
    .description("revoke the saved API token (when this CLI made it) and forget it")
    .action(
      act(async ({ settings, json }) => {
        const { saved } = settings;
        if (saved.token && saved.tokenId) {
          await revokeToken(new ApiClient({ url: saved.url ?? settings.url, token: saved.token }), saved.tokenId).catch(() => undefined);
        }
        await removeConfig();
        if (json) printJson({ loggedOut: true });
        else process.stdout.write(saved.token ? "Logged out.\n" : "Not logged in.\n");
      }),
    );

  program
    .command("whoami")
    .description("show who the token belongs to and their workspaces")
    .action(
      act(async ({ api, settings, json }) => {
        const who = await me(api);
        if (json) return printJson(who);
        printFields([
          ["user", `${who.user.email}${who.user.name ? ` (${who.user.name})` : ""}`],
          ["server", settings.url],
          ["workspace", who.workspaces.find((w) => w.id === settings.workspaceId)?.name ?? settings.workspaceId],
        ]);
        if (who.workspaces.length) {
          process.stdout.write("\n");
          printTable(
            ["", "id", "name", "role"],
            who.workspaces.map((w) => [w.id === settings.workspaceId ? "*" : "", w.id, w.name, w.role]),
          );
        }
      }),
    );
}
