/**
 * Which failed wrangler starts the stack tries again: the lines are what wrangler 4.86 and its
 * miniflare print (a port taken: measured by binding the API's port first; workerd gone during
 * its start: miniflare's message when workerd exits before reporting its ports).
 */
import { describe, expect, it } from "vitest";
import { StartWorthRetrying, startFailure } from "./stack.ts";

const prefix = "wrangler  ";

describe("a wrangler that exited during its start", () => {
  it("is tried again when a port it was given was taken", () => {
    const said = [
      `${prefix}✘ [ERROR] Address already in use (127.0.0.1:18999). Please check that you are not already running a server on this address or specify a different port with --port.`,
    ];
    expect(startFailure(1, said)).toBeInstanceOf(StartWorthRetrying);
  });

  it("is tried again when workerd exited in its start without a word", () => {
    const said = [
      `${prefix}✘ [ERROR] The Workers runtime failed to start. There is likely additional logging output above.`,
      `${prefix}🪵  Logs were written to "/root/.config/.wrangler/logs/wrangler-2026-12-06_12-19-46_054.log"`,
    ];
    const failure = startFailure(1, said);
    expect(failure).toBeInstanceOf(StartWorthRetrying);
    expect(failure.message).toMatch(/workerd exited during its start/);
  });

  it("is not tried again for anything else, and says wrangler's last lines", () => {
    const said = [
      `${prefix}✘ [ERROR] The Workers runtime failed to start. There was likely a problem with the workerd binary or your configuration.`,
      `${prefix}Runtime stderr: config.capnp:12: error: unknown binding`,
    ];
    const failure = startFailure(1, said);
    expect(failure).not.toBeInstanceOf(StartWorthRetrying);
    expect(failure.message).toBe(`wrangler dev exited with code 1; its last lines: ${said.join(" | ")}`);
    expect(startFailure(2, []).message).toBe("wrangler dev exited with code 2 before it said anything");
  });
});
