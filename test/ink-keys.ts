/**
 * Typing into an Ink app under test (ink-testing-library), one key at a time, the way a user
 * would: each key's update is rendered and the effects that follow it have run (a screen that
 * just opened attaches its key handler in one) before the next key is typed. A fixed pause
 * between keys let a loaded machine type into a handler that was not there yet.
 */
import { act } from "react";

/**
 * Writes `keys` to the app's stdin, each inside React's act(). The act environment is declared
 * only around a key: answers that arrive later (a fake or real API) update the app outside act,
 * and tests await them through the frames.
 */
export async function typeKeys(stdin: { write(data: string): void }, ...keys: string[]): Promise<void> {
  const scope = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean };
  for (const key of keys) {
    scope.IS_REACT_ACT_ENVIRONMENT = true;
    try {
      await act(async () => stdin.write(key));
    } finally {
      scope.IS_REACT_ACT_ENVIRONMENT = false;
    }
  }
}
