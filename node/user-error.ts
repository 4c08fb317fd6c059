/**
 * A mistake the user can fix (missing folder, existing sparki.yml, bad flag, rejected token):
 * printed as one line on stderr with its exit code, never as a stack. Shared by the `sparki`
 * CLI and the `sparki-runner` agent.
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
