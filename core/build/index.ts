/** Pure state machines for builds, jobs and steps; side effects happen in their callers. */
export {
  BUILD_EVENT_TYPES,
  BUILD_FINISHED,
  BUILD_STATUSES,
  initialBuild,
  transitionBuild,
  type BuildEvent,
  type BuildState,
  type BuildStatus,
} from "./build.ts";
export { initialJob, JOB_EVENT_TYPES, JOB_STATUSES, transitionJob, type JobEvent, type JobState, type JobStatus } from "./job.ts";
export { initialStep, STEP_EVENT_TYPES, STEP_STATUSES, transitionStep, type StepEvent, type StepState, type StepStatusName } from "./step.ts";
export { describeTransitionError, type Transition, type TransitionError } from "./result.ts";
