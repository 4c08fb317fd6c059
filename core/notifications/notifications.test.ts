import { describe, expect, it } from "vitest";
import type { NotificationPayload } from "../contracts/notifications.js";
import { attemptOutcome, NOTIFY_MAX_ATTEMPTS, NOTIFY_MAX_DELAY_SECONDS, retryDelaySeconds } from "./retry.js";
import { slackMessage } from "./slack.js";

const payload = (extra: Partial<NotificationPayload> = {}): NotificationPayload => ({
  id: crypto.randomUUID(),
  event: "build.failed",
  occurredAt: "2026-12-02T10:00:00.000Z",
  project: { id: crypto.randomUUID(), name: "shop" },
  build: { id: crypto.randomUUID(), number: 7, status: "failed", branch: "main", commitSha: "a".repeat(40), error: "step test exited with 1" },
  url: "https://sparki.example.com/builds/x",
  ...extra,
});

describe("Slack messages", () => {
  it("has the fallback text and a section linking to the build", () => {
    const m = slackMessage(payload());
    expect(m.text).toBe("shop: build #7 of main failed");
    expect(m.blocks[0]).toEqual({
      type: "section",
      text: { type: "mrkdwn", text: "*<https://sparki.example.com/builds/x|shop: build #7 of main failed>*\ncommit `aaaaaaaaaaaa`\nstep test exited with 1" },
    });
  });

  it("escapes what users wrote, so a branch name cannot ping the channel or make a link", () => {
    const m = slackMessage(payload({ build: { ...payload().build!, branch: "<!channel>", error: "<https://evil.example|click> & run" } }));
    const text = JSON.stringify(m);
    expect(text).not.toContain("<!channel>");
    expect(text).toContain("&lt;!channel&gt;");
    expect(text).toContain("&lt;https://evil.example|click&gt; &amp; run");
  });

  it("names the stage that waits and the stages rolled back", () => {
    const deployment = { id: crypto.randomUUID(), buildId: crypto.randomUUID(), status: "awaiting_approval", stages: ["production"], reason: null };
    expect(slackMessage(payload({ event: "approval.waiting", build: undefined, deployment })).text).toBe("shop: stage production waits for approval");
    expect(slackMessage(payload({ event: "deployment.rolled_back", build: undefined, deployment: { ...deployment, stages: ["staging", "prod"] } })).text).toBe(
      "shop: deployment rolled back (staging, prod)",
    );
  });
});

describe("retry policy", () => {
  it("retries 429, 408, 5xx and no answer; refuses other 4xx for good", () => {
    expect([200, 204].map(attemptOutcome)).toEqual(["delivered", "delivered"]);
    expect([429, 408, 500, 503, null].map(attemptOutcome)).toEqual(["retry", "retry", "retry", "retry", "retry"]);
    expect([400, 403, 404, 410].map(attemptOutcome)).toEqual(["refused", "refused", "refused", "refused"]);
  });

  it("backs off exponentially, honours Retry-After up to a cap, and stops after the last attempt", () => {
    expect([1, 2, 3].map((a) => retryDelaySeconds(a))).toEqual([30, 60, 120]);
    expect(retryDelaySeconds(1, 90)).toBe(90);
    expect(retryDelaySeconds(1, 999_999)).toBe(NOTIFY_MAX_DELAY_SECONDS);
    expect(retryDelaySeconds(NOTIFY_MAX_ATTEMPTS)).toBeNull();
  });
});
