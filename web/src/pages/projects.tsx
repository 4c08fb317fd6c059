/** A workspace's projects, and a new project from a git URL. */
import { useState } from "preact/hooks";
import { get, post } from "../api.ts";
import { GitHubInstallations, page, Project } from "../contracts.ts";
import { navigate } from "../router.ts";
import { ErrorNote, Page, Time, useAction, useAsync } from "../ui.tsx";

export function ProjectsPage({ workspaceId, canWrite }: { workspaceId: string; canWrite: boolean }) {
  const projects = useAsync(() => get(`/v1/workspaces/${workspaceId}/projects?limit=100`, page(Project)), [workspaceId]);
  const [form, setForm] = useState({ name: "", gitUrl: "", defaultBranch: "main" });
  const [run, busy, error] = useAction();
  // `configured` is false when this instance has no GitHub App: then the import form stays hidden.
  const github = useAsync(() => get(`/v1/workspaces/${workspaceId}/github/installations`, GitHubInstallations), [workspaceId]);
  const [repository, setRepository] = useState("");
  const [importing, importBusy, importError] = useAction();
  const importRepo = (e: Event) => {
    e.preventDefault();
    void importing(async () => {
      const project = await post(`/v1/workspaces/${workspaceId}/projects/github`, { repository }, Project);
      navigate(`/projects/${project.id}`);
    });
  };
  const reachable = github.data?.items.flatMap((i) => i.repositories.map((r) => r.fullName)) ?? [];
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const create = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const project = await post(`/v1/workspaces/${workspaceId}/projects`, form, Project);
      navigate(`/projects/${project.id}`);
    });
  };
  return (
    <Page title="Projects">
      <ErrorNote error={projects.error} />
      {projects.data?.items.length === 0 && <p>No projects yet: create one from a git repository below.</p>}
      <ul class="cards">
        {projects.data?.items.map((p) => (
          <li key={p.id} class="card">
            <h2>
              <a href={`/projects/${p.id}`}>{p.name}</a>
            </h2>
            <p class="muted mono wrap">{p.gitUrl}</p>
            <p>
              {[p.framework, p.language].filter(Boolean).join(" · ") || "not detected yet"} · branch {p.defaultBranch}
            </p>
            <p class="muted">
              created <Time at={p.createdAt} />
            </p>
          </li>
        ))}
      </ul>
      {canWrite && github.data?.configured && (
        <form class="card stack" onSubmit={importRepo}>
          <h2>Import from GitHub</h2>
          {reachable.length === 0 ? (
            <p>
              No GitHub installation is linked to this workspace yet.{" "}
              <a href={`/v1/integrations/github/install?workspaceId=${workspaceId}`}>Install the GitHub App</a> (owners and admins).
            </p>
          ) : (
            <>
              <label for="gh-repo">Repository</label>
              <input id="gh-repo" required list="gh-repos" placeholder="owner/repo" value={repository} onInput={(e) => setRepository(e.currentTarget.value)} />
              <datalist id="gh-repos">
                {reachable.map((r) => (
                  <option key={r} value={r} />
                ))}
              </datalist>
              <ErrorNote error={importError} />
              <button class="primary" type="submit" disabled={importBusy}>
                Import from GitHub
              </button>
            </>
          )}
        </form>
      )}
      {canWrite && (
        <form class="card stack" onSubmit={create}>
          <h2>New project</h2>
          <label for="p-name">Name</label>
          <input id="p-name" required maxLength={100} value={form.name} onInput={set("name")} />
          <label for="p-git">Git URL</label>
          <input id="p-git" required placeholder="https://github.com/acme/web.git" value={form.gitUrl} onInput={set("gitUrl")} />
          <label for="p-branch">Default branch</label>
          <input id="p-branch" required value={form.defaultBranch} onInput={set("defaultBranch")} />
          <ErrorNote error={error} />
          <button class="primary" type="submit" disabled={busy}>
            Create project
          </button>
        </form>
      )}
    </Page>
  );
}
