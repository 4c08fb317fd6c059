/**
 * The environment a step sees, the same in a runner's job and in `sparki run`: the job's
 * variables on top of a base. Sandboxed, the base is only PATH, HOME, LANG and TMPDIR
 * (sandboxBaseEnv); unsandboxed it is the host's environment minus the runner's settings.
 */
import { sandboxBaseEnv } from "./sandbox.ts";

export interface StepEnvInput {
  /** The job's folder when the step is sandboxed (its HOME is in there), else null. */
  sandboxDir: string | null;
  buildId: string;
  jobId: string;
  stepId: string;
  commitSha: string;
  branch: string;
  /** The pipeline's and job's variables, then the step's, then the secrets: later ones win. */
  jobEnv: Record<string, string>;
  stepEnv: Record<string, string>;
  secrets: Record<string, string>;
  /** The step's span in its build's trace, as TRACEPARENT (W3C Trace Context's environment form). */
  traceparent?: string | null;
  /** A folder to put first on PATH, before the job's own: the bin of the runtime version the job needs. */
  pathFirst?: string | null;
  host?: NodeJS.ProcessEnv;
}

export function stepEnvironment(input: StepEnvInput): NodeJS.ProcessEnv {
  const host = input.host ?? process.env;
  const base =
    input.sandboxDir !== null
      ? sandboxBaseEnv(input.sandboxDir, host)
      : Object.fromEntries(Object.entries(host).filter(([name]) => !name.startsWith("SPARKI_RUNNER_")));
  const env: NodeJS.ProcessEnv = {
    ...base,
    CI: "true",
    SPARKI: "true",
    SPARKI_BUILD_ID: input.buildId,
    SPARKI_JOB_ID: input.jobId,
    SPARKI_COMMIT: input.commitSha,
    SPARKI_BRANCH: input.branch,
    SPARKI_STEP_ID: input.stepId,
    // A user's own tools can join the build's trace under the step's span.
    ...(input.traceparent ? { TRACEPARENT: input.traceparent } : {}),
    ...input.jobEnv,
    ...input.stepEnv,
    ...input.secrets,
  };
  // After the job's variables: a pipeline `env` that sets PATH still gets the runtime in front.
  if (input.pathFirst) env.PATH = env.PATH ? `${input.pathFirst}:${env.PATH}` : input.pathFirst;
  return env;
}
