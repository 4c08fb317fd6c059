/**
 * A project's deployment rules per stage (contract: core/contracts/stage-rules.ts): approval,
 * the branches that may deploy, who approves. Owners and admins change them; others see them
 * (the API refuses their changes, and the refusal is shown).
 */
import { useState } from "preact/hooks";
import { APPROVER_ROLES, type ApproverRole } from "../../../core/deploy/stage-rules.ts";
import { api, get } from "../api.ts";
import { StageRule, StageRuleList, type Out } from "../contracts.ts";
import { ErrorNote, Time, useAction, useAsync } from "../ui.tsx";

type Rule = Out<typeof StageRule>;
const blank = { stage: "", requireApproval: false, branches: "", approverRoles: [...APPROVER_ROLES] as ApproverRole[] };

export function StageRules({ projectId }: { projectId: string }) {
  const rules = useAsync(() => get(`/v1/projects/${projectId}/stage-rules`, StageRuleList), [projectId]);
  const [form, setForm] = useState(blank);
  const [run, busy, error] = useAction();
  const edit = (r: Rule) =>
    setForm({ stage: r.stage, requireApproval: r.requireApproval, branches: r.branches.join(", "), approverRoles: [...r.approverRoles] });
  const path = (stage: string) => `/v1/projects/${projectId}/stage-rules/${encodeURIComponent(stage)}`;
  const save = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const branches = form.branches
        .split(",")
        .map((b) => b.trim())
        .filter(Boolean);
      await api("PUT", path(form.stage), StageRule, { requireApproval: form.requireApproval, branches, approverRoles: form.approverRoles });
      setForm(blank);
      rules.reload();
    });
  };
  const toggleRole = (role: ApproverRole, on: boolean) =>
    setForm({ ...form, approverRoles: APPROVER_ROLES.filter((r) => (r === role ? on : form.approverRoles.includes(r))) });
  const defaultBranch = rules.data?.defaultBranch ?? "the default branch";
  return (
    <section aria-labelledby="stage-rules-h" id="stage-rules">
      <h2 id="stage-rules-h">Deployment rules</h2>
      <p class="muted">
        Set here by owners and admins; a branch's sparki.yml can only make a stage stricter. A stage without a rule accepts only {defaultBranch}.
      </p>
      <ErrorNote error={rules.error ?? error} />
      {rules.data?.items.length === 0 && <p>No deploy stages yet.</p>}
      {rules.data && rules.data.items.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Stage</th>
                <th scope="col">Approval</th>
                <th scope="col">Branches</th>
                <th scope="col">Approvers</th>
                <th scope="col">Rule</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rules.data.items.map((r) => (
                <tr key={r.stage} data-stage-rule={r.stage}>
                  <td>{r.stage}</td>
                  <td>{r.requireApproval ? "required" : "no"}</td>
                  <td class="mono">{r.branches.join(", ") || "none"}</td>
                  <td>{r.approverRoles.join(", ")}</td>
                  <td>{r.configured ? <>set {r.updatedAt && <Time at={r.updatedAt} />}</> : <span class="muted">default</span>}</td>
                  <td>
                    <button type="button" disabled={busy} onClick={() => edit(r)}>
                      Edit
                    </button>{" "}
                    {r.configured && (
                      <button
                        type="button"
                        class="danger"
                        disabled={busy}
                        onClick={() =>
                          confirm(`Remove the rule of ${r.stage}? It will accept only ${defaultBranch}.`) &&
                          void run(async () => {
                            await api("DELETE", path(r.stage));
                            rules.reload();
                          })
                        }
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="card row-form" onSubmit={save} aria-label="Set a stage's rule">
        <label for="r-stage">Stage</label>
        <input
          id="r-stage"
          required
          pattern="[a-z0-9]+(-[a-z0-9]+)*"
          maxLength={50}
          value={form.stage}
          onInput={(e) => setForm({ ...form, stage: e.currentTarget.value })}
        />
        <label for="r-branches">Branches</label>
        <input
          id="r-branches"
          required
          placeholder="main, release/*"
          value={form.branches}
          onInput={(e) => setForm({ ...form, branches: e.currentTarget.value })}
        />
        <label>
          <input
            id="r-approval"
            type="checkbox"
            checked={form.requireApproval}
            onChange={(e) => setForm({ ...form, requireApproval: e.currentTarget.checked })}
          />{" "}
          Approval required
        </label>
        <fieldset class="inline">
          <legend>Approvers</legend>
          {APPROVER_ROLES.map((role) => (
            <label key={role}>
              <input
                type="checkbox"
                name="approver"
                value={role}
                checked={form.approverRoles.includes(role)}
                onChange={(e) => toggleRole(role, e.currentTarget.checked)}
              />{" "}
              {role}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={busy || form.approverRoles.length === 0}>
          Save rule
        </button>
      </form>
    </section>
  );
}
