/**
 * A problem the person running the agent can fix (bad flag, missing config, rejected token):
 * printed as one line on stderr with a non-zero exit code, never as a stack trace.
 */
export class UserError extends Error {
  override readonly name = "UserError";

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
