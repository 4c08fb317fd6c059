/**
 * Sign up and log in. Signup answers the same whether or not the email is registered, so the
 * page logs in next; login asks for a cookie session (the tokens never reach this page).
 */
import { useState } from "preact/hooks";
import { post } from "../api.ts";
import { Session } from "../contracts.ts";
import { ErrorNote, Page, useAction } from "../ui.tsx";
import { OAuthButtons } from "./oauth.tsx";

export function AuthPage({ mode, onSignedIn }: { mode: "login" | "signup"; onSignedIn(): void }) {
  const [run, busy, error] = useAction();
  const [form, setForm] = useState({ name: "", email: "", password: "" });
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      if (mode === "signup") await post("/v1/auth/signup", form);
      await post("/v1/auth/login", { email: form.email, password: form.password, session: "cookie" }, Session);
      onSignedIn();
    });
  };
  const signup = mode === "signup";
  return (
    <div class="auth">
      <Page title={signup ? "Create your account" : "Log in"}>
        <form class="card stack" onSubmit={submit}>
          {signup && (
            <>
              <label for="name">Name</label>
              <input id="name" autoComplete="name" required value={form.name} onInput={set("name")} />
            </>
          )}
          <label for="email">Email</label>
          <input id="email" type="email" autoComplete="email" required value={form.email} onInput={set("email")} />
          <label for="password">Password{signup ? " (at least 10 characters, not a common one)" : ""}</label>
          <input
            id="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            minLength={signup ? 10 : 1}
            required
            value={form.password}
            onInput={set("password")}
          />
          <ErrorNote error={error} />
          <button class="primary" type="submit" disabled={busy}>
            {signup ? "Sign up" : "Log in"}
          </button>
          <OAuthButtons />
          <p>
            {signup ? (
              <>
                Have an account? <a href="/login">Log in</a>
              </>
            ) : (
              <>
                New here? <a href="/signup">Create an account</a>
              </>
            )}
          </p>
        </form>
      </Page>
    </div>
  );
}
