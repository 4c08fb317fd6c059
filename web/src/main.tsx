/**
 * The dashboard: a shell (workspace switcher, navigation, account) around one page chosen by
 * the path. Everything comes from the public API with the browser's session cookie.
 */
import { render, toChildArray, type ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, get, whenSignedOut } from "./api.ts";
import { MeResponse, type Out } from "./contracts.ts";
import { interceptLinks, match, navigate, readerNavigated, usePath } from "./router.ts";
import { AccountPage } from "./pages/account.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { AuthPage } from "./pages/auth.tsx";
import { LinkAccountPage } from "./pages/oauth.tsx";
import { BuildPage } from "./pages/build.tsx";
import { DeploymentPage, DeploymentsPage } from "./pages/deployments.tsx";
import { ProjectPage } from "./pages/project.tsx";
import { ProjectsPage } from "./pages/projects.tsx";
import { RunnersPage } from "./pages/runners.tsx";
import { MembersPage, NewWorkspacePage } from "./pages/workspace.tsx";
import { afterLog, holdForLog } from "./priority.ts";
import { ErrorNote, messageOf } from "./ui.tsx";

type Me = Out<typeof MeResponse>;
const PUBLIC = new Set(["/login", "/signup", "/login/link"]);
const LAST_WORKSPACE = "sparki.workspace";

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const loadMe = async () => {
    try {
      await afterLog();
      setMe(await get("/v1/me", MeResponse));
      setError(null);
    } catch (err) {
      setMe(null);
      if (!/401|log in|token/i.test(messageOf(err))) setError(messageOf(err));
    }
  };
  useEffect(() => {
    whenSignedOut(() => {
      setMe(null);
      if (!PUBLIC.has(location.pathname)) navigate(`/login`, true);
    });
    void loadMe();
  }, []);

  // Focus the page's heading after a navigation, so a screen reader hears where it is.
  useEffect(() => {
    if (readerNavigated) (document.getElementById("page-title") as HTMLElement | null)?.focus({ preventScroll: true });
  }, [path]);

  // A build's (or project's, or deployment's) page starts loading at once, alongside /v1/me:
  // its log socket is not held up by a round trip it does not need.
  const early = resourcePage(path);
  if (me === undefined) return early ? <Shell path={path}>{early}</Shell> : <p class="loading">Loading…</p>;
  if (me === null || PUBLIC.has(path)) {
    // /login/link also confirms a link a signed-in user asked for on the account page.
    if (me && PUBLIC.has(path) && path !== "/login/link") {
      navigate("/", true);
      return null;
    }
    if (!PUBLIC.has(path)) {
      navigate("/login", true);
      return null;
    }
    return (
      <main id="main">
        <ErrorNote error={error} />
        {path === "/login/link" ? (
          <LinkAccountPage onSignedIn={() => void loadMe().then(() => navigate("/", true))} />
        ) : (
          <AuthPage mode={path === "/signup" ? "signup" : "login"} onSignedIn={() => void loadMe().then(() => navigate("/", true))} />
        )}
      </main>
    );
  }

  const w = match("/w/:wid/:section", path);
  const stored = localStorage.getItem(LAST_WORKSPACE);
  const current = me.workspaces.find((x) => x.id === w?.wid) ?? me.workspaces.find((x) => x.id === stored) ?? me.workspaces[0];
  if (w?.wid && current?.id === w.wid) localStorage.setItem(LAST_WORKSPACE, w.wid);
  if (path === "/") {
    navigate(current ? `/w/${current.id}/projects` : "/workspaces/new", true);
    return null;
  }
  const manage = current?.role === "owner" || current?.role === "admin";
  const write = manage || current?.role === "developer";

  let page = early;
  if (page) {
    // Drawn above already.
  } else if (path === "/workspaces/new") page = <NewWorkspacePage onCreated={loadMe} />;
  else if (path === "/account")
    page = (
      <AccountPage
        email={me.user.email}
        onSessionsEnded={() => {
          setMe(null);
          navigate("/login");
        }}
      />
    );
  else if (w && current && w.section === "projects") page = <ProjectsPage workspaceId={current.id} canWrite={write} />;
  else if (w && current && w.section === "members") page = <MembersPage workspaceId={current.id} canManage={manage} />;
  else if (w && current && w.section === "runners") page = <RunnersPage workspaceId={current.id} canManage={manage} />;
  else if (w && current && w.section === "audit") page = <AuditPage workspaceId={current.id} />;
  else
    page = (
      <>
        <h1>Not found</h1>
        <p>
          Nothing lives at {path}. <a href="/">Go to your projects</a>.
        </p>
      </>
    );

  return (
    <Shell path={path}>
      {page}
      <label class="sr-only" for="ws-switch">
        Workspace
      </label>
      <select
        id="ws-switch"
        value={current?.id ?? ""}
        onChange={(e) => {
          const v = e.currentTarget.value;
          navigate(v === "new" ? "/workspaces/new" : `/w/${v}/${w?.section ?? "projects"}`);
        }}
      >
        {me.workspaces.map((x) => (
          <option key={x.id} value={x.id}>
            {x.name} ({x.role})
          </option>
        ))}
        <option value="new">+ New workspace</option>
      </select>
      <nav aria-label="Workspace">
        <ul>
          {section("projects", "Projects")}
          {section("members", "Members")}
          {section("runners", "Runners")}
          {section("audit", "Audit log")}
        </ul>
      </nav>
      <a class="me" href="/account" aria-current={path === "/account" ? "page" : undefined}>
        {me.user.name ?? me.user.email}
      </a>
      <button
        type="button"
        class="link"
        onClick={() =>
          void api("POST", "/v1/auth/logout", undefined, {}).finally(() => {
            setMe(null);
            navigate("/login");
          })
        }
      >
        Log out
      </button>
    </Shell>
  );

  function section(name: string, label: string) {
    const href = current ? `/w/${current.id}/${name}` : "/workspaces/new";
    return (
      <li>
        <a href={href} aria-current={path === href ? "page" : undefined}>
          {label}
        </a>
      </li>
    );
  }
}

/** Pages addressed by a resource id alone: they need nothing from /v1/me to start. */
function resourcePage(path: string) {
  let m: Record<string, string> | null;
  if ((m = match("/projects/:id/deployments", path))) return <DeploymentsPage projectId={m.id ?? ""} />;
  if ((m = match("/projects/:id", path))) return <ProjectPage projectId={m.id ?? ""} />;
  if ((m = match("/builds/:id", path))) return <BuildPage key={m.id} buildId={m.id ?? ""} />;
  if ((m = match("/deployments/:id", path))) return <DeploymentPage deploymentId={m.id ?? ""} />;
  return null;
}

/**
 * The frame of every signed-in page; the first child is the page, the rest the header's
 * controls (none while the account is still loading). One shape either way, so the page keeps
 * its state (and its sockets) when the header fills in.
 */
function Shell({ children }: { path: string; children: ComponentChildren }) {
  const [page, ...controls] = toChildArray(children);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Sparki
        </a>
        {controls}
      </header>
      <main id="main">{page}</main>
    </>
  );
}

interceptLinks();
if (match("/builds/:id", location.pathname)) holdForLog();
const root = document.getElementById("app");
if (root) render(<App />, root);
