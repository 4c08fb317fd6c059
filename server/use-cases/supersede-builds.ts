/**
 * Superseded builds: a newer build of the same project and branch (or pull request) cancels the
 * older builds of other commits still queued or running, with "superseded by build #N" as their
 * reason. Builds opt in when they are triggered: a build that may supersede and be superseded
 * gets a supersede key (its group), the others none.
 *
 * Race safety: the key is written and the older builds are chosen in the trigger's transaction,
 * which holds the project row's lock (trigger-build.ts numbers builds under it). Two quick
 * pushes are therefore ordered: the later one sees the earlier one, and a build only ever
 * cancels builds numbered below it, so exactly the older one is cancelled, never both.
 */
import { and, desc, eq, inArray, lt, ne, or, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Bindings } from "../config.js";
import { builds, pipelines } from "../db/schema.js";
import { buildCoordinator } from "../objects/clients.js";
import type { Superseder } from "../objects/build-coordinator/protocol.js";
import type { Tx } from "./trigger-build.js";

type BuildRow = typeof builds.$inferSelect;

/**
 * Whether builds from a trigger cancel (and can be cancelled by) newer ones when sparki.yml's
 * `pipeline.cancelSuperseded` says nothing: the source decides. A git host's push or pull
 * request: yes (a newer push makes the older commit's result moot). A person's API or CLI
 * trigger: no (someone asked for that build). A `script` deployment's build: never, whatever
 * sparki.yml says (it is a deployment's step, not a branch's build). A trigger missing here
 * counts as a person's. New git-host sources add their trigger with `true`.
 */
export const supersedeDefaults: Readonly<Record<string, boolean | "never">> = {
  push: true,
  pull_request: true,
  api: false,
  deploy: "never",
};

/** What a build's group is made of. */
export interface SupersedeSubject {
  projectId: string;
  branch: string | null;
  /** The pull request the build is for, when its source knows one. */
  pullRequest: number | null;
}

/**
 * The group a build supersedes within. Always starts with the project, so no build of another
 * project (or workspace) is ever in the same group. A pull request's builds group by its number,
 * so every push to its head supersedes the last whatever the branch is called (a fork's branch
 * may share a name with one of ours); other builds by their branch.
 */
export function supersedeKey(build: SupersedeSubject): string {
  return build.pullRequest !== null ? `${build.projectId}:pr:${build.pullRequest}` : `${build.projectId}:branch:${build.branch ?? ""}`;
}

/** sparki.yml's `pipeline.cancelSuperseded` as the project's newest pipeline has it. */
const PipelineSetting = z.object({ triggers: z.object({ cancelSuperseded: z.boolean().optional() }) });

/**
 * The project's `pipeline.cancelSuperseded`, read from its newest pipeline version. The commit's
 * own sparki.yml is read later by a runner (the plan step), so a trigger decides with what the
 * project's last planned (or edited) pipeline says; a change takes effect from the next build.
 */
export async function cancelSupersededSetting(tx: Tx, projectId: string): Promise<boolean | undefined> {
  const [row] = await tx
    .select({ configuration: pipelines.configuration })
    .from(pipelines)
    .where(eq(pipelines.projectId, projectId))
    .orderBy(desc(pipelines.version))
    .limit(1);
  const parsed = PipelineSetting.safeParse(row?.configuration);
  return parsed.success ? parsed.data.triggers.cancelSuperseded : undefined;
}

/**
 * Puts a just-inserted build in its supersede group when its source (or a pull request), or
 * sparki.yml, turns superseding on, and returns the older builds it supersedes: its group's
 * builds numbered below it, of another commit, still queued or running. Run it in the trigger's
 * transaction, after the insert (which holds the project row's lock).
 */
export async function joinSupersedeGroup(tx: Tx, build: BuildRow, trigger: string): Promise<string[]> {
  const byDefault = build.pullRequest !== null ? true : (supersedeDefaults[trigger] ?? false);
  // A tag names one commit for good: its build neither supersedes nor is superseded by another.
  if (byDefault === "never" || !build.projectId || build.number === null || build.tag !== null) return [];
  const setting = await cancelSupersededSetting(tx, build.projectId);
  if (!(setting ?? byDefault)) return [];
  const key = supersedeKey({ projectId: build.projectId, branch: build.branch, pullRequest: build.pullRequest });
  await tx.update(builds).set({ supersedeKey: key }).where(eq(builds.id, build.id));
  build.supersedeKey = key;
  // A build of an unnamed commit (the branch's head when it runs) may be the same commit: it cancels nothing.
  if (!build.commitSha) return [];
  const rows = await tx
    .select({ id: builds.id })
    .from(builds)
    .where(
      and(
        eq(builds.projectId, build.projectId),
        eq(builds.supersedeKey, key),
        lt(builds.number, build.number),
        inArray(builds.status, ["queued", "running"]),
        or(isNull(builds.commitSha), ne(builds.commitSha, build.commitSha)),
      ),
    );
  return rows.map((r) => r.id);
}

/**
 * Tells each superseded build's coordinator. The coordinator checks the commit once more (an
 * older build of an unnamed commit may have planned the same one) and records the reason. A
 * coordinator that cannot be reached leaves its build running: the new build is not undone.
 */
export async function cancelSuperseded(env: Pick<Bindings, "BUILD_COORDINATOR">, ids: string[], by: BuildRow): Promise<void> {
  const superseder: Superseder = { number: by.number ?? 1, commitSha: by.commitSha };
  await Promise.allSettled(ids.map((id) => buildCoordinator(env, id).supersede(superseder)));
}
