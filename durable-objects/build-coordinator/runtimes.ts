/**
 * The plan-time check of runtimes: a job that needs a runtime (`node-18`) that no runner online in
 * the build's pools reported would wait in the queue with nothing to take it. The build fails at
 * once instead, naming the runtime and what the runners online have, so the person who pushed
 * sees what to install (or what to change in sparki.yml) rather than a build that never starts.
 */
import { parseRuntimeLabel, requirementLabel } from "../../core/runtimes/labels.ts";
import type { JobSpec } from "../../server/objects/build-coordinator/protocol.js";
import type { RunnerDispatcherRpc } from "../../server/objects/runner-dispatcher/protocol.js";

type Pool = Pick<RunnerDispatcherRpc, "labelsOnline">;

const TITLE: Readonly<Record<string, string>> = { node: "Node.js", python: "Python", go: "Go", rust: "Rust" };

/** The build's error when a job needs a runtime no runner online has, else null. */
export function runtimeProblem(jobs: readonly JobSpec[], online: ReadonlySet<string>): string | null {
  for (const job of jobs) {
    if (!job.runtime) continue;
    const label = requirementLabel(job.runtime);
    if (online.has(label)) continue;
    const name = job.runtime.name;
    const same = [...online].filter((l) => parseRuntimeLabel(l)?.name === name);
    const any = [...online].some((l) => parseRuntimeLabel(l) !== null);
    // Runners that predate runtime labels report none: say so, or the message would mislead.
    const have =
      same.length > 0
        ? `runners online have ${same.join(", ")}`
        : any
          ? `no runner online reported any ${name}`
          : "no runner online reported any runtime (runners older than runtime labels report none: upgrade sparki-runner)";
    return (
      `No runner online has ${label}, which job ${job.name} needs (its app pins ${name} ${job.runtime.version}); ${have}. ` +
      `Install ${TITLE[name] ?? name} ${job.runtime.version} on a runner (it finds versions on its PATH and in nvm, fnm, Volta, asdf, mise, pyenv, goenv and rustup folders when it starts), ` +
      "or change runtimeVersion in sparki.yml (null drops the requirement)."
    );
  }
  return null;
}

/**
 * Asks the build's pools which labels their runners online reported, and checks the jobs that
 * will run. A pool that cannot answer leaves the check out (the jobs then wait, and their
 * `waiting` reason says why), so a passing hiccup never fails a build.
 */
export async function missingRuntime(jobs: readonly JobSpec[], pools: readonly Pool[], windowMs: number): Promise<string | null> {
  if (!jobs.some((j) => j.runtime)) return null;
  try {
    const answers = await Promise.all(pools.map((pool) => pool.labelsOnline(windowMs)));
    return runtimeProblem(jobs, new Set(answers.flat()));
  } catch {
    return null;
  }
}
