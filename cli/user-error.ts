/**
 * A mistake the user can fix (missing folder, existing sparki.yml, invalid
 * config): printed as one line on stderr with its exit code, never as a stack.
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
