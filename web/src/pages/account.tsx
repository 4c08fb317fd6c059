/**
 * The account: change the password, or log out everywhere. Both end every session of the
 * account (this browser's too) and every refresh token; API tokens stay until deleted.
 */
import { useState } from "preact/hooks";
import { api, get } from "../api.ts";
import { Identities } from "../oauth-contracts.ts";
import { ErrorNote, Page, useAction, useAsync } from "../ui.tsx";
import { SignInMethods } from "./identities.tsx";

export function AccountPage({ email, onSessionsEnded }: { email: string; onSessionsEnded(): void }) {
  const [run, busy, error] = useAction();
  // An account made by signing in with GitHub or GitLab has no password to change.
  const hasPassword = useAsync(() => get("/v1/me/identities", Identities), []).data?.hasPassword ?? true;
  const [form, setForm] = useState({ currentPassword: "", newPassword: "" });
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const change = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await api("POST", "/v1/me/password", undefined, form);
      onSessionsEnded();
    });
  };
  const everywhere = () =>
    void run(async () => {
      if (!confirm("End every session of this account, this one included?")) return;
      await api("DELETE", "/v1/me/sessions");
      onSessionsEnded();
    });
  return (
    <Page title="Account">
      <p>
        Signed in as {email}. Changing the password or logging out everywhere ends every session of this account, here and on other devices; API tokens keep
        working until you delete them.
      </p>
      {hasPassword && (
        <form class="card stack" onSubmit={change}>
          <h2>Change password</h2>
          <label for="current-password">Current password</label>
          <input id="current-password" type="password" autoComplete="current-password" required value={form.currentPassword} onInput={set("currentPassword")} />
          <label for="new-password">New password (at least 10 characters, not a common one)</label>
          <input id="new-password" type="password" autoComplete="new-password" minLength={10} required value={form.newPassword} onInput={set("newPassword")} />
          <button class="primary" type="submit" disabled={busy}>
            Change password
          </button>
        </form>
      )}
      <SignInMethods />
      <div class="card stack">
        <h2>Sessions</h2>
        <button type="button" disabled={busy} onClick={everywhere}>
          Log out everywhere
        </button>
      </div>
      <ErrorNote error={error} />
    </Page>
  );
}
