/** The result type every machine in core/build returns: a new state, or why not. */

/** Why an event was refused. The state is unchanged; nothing is thrown. */
export type TransitionError =
  | { code: "illegal_transition"; from: string; event: string }
  | { code: "stale_fencing_token"; current: number; got: number }
  | { code: "lease_not_expired"; leaseExpiresAt: number; at: number };

export type Transition<S> = { ok: true; state: S } | { ok: false; error: TransitionError };

/** A successful transition. */
export function moved<S>(state: S): Transition<S> {
  return { ok: true, state };
}

/** The event makes no sense in this state (a result for a finished job, a second start). */
export function illegal<S>(from: string, event: string): Transition<S> {
  return { ok: false, error: { code: "illegal_transition", from, event } };
}

/** One line for logs and problem details. */
export function describeTransitionError(error: TransitionError): string {
  switch (error.code) {
    case "illegal_transition":
      return `cannot ${error.event} when ${error.from}`;
    case "stale_fencing_token":
      return `fencing token ${error.got} is stale; the job is now held under token ${error.current}`;
    case "lease_not_expired":
      return `the lease runs until ${new Date(error.leaseExpiresAt).toISOString()}`;
    default: {
      const unreachable: never = error;
      return String(unreachable);
    }
  }
}
