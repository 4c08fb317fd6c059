import { describe, expect, it } from "vitest";
import { lookUpPeople, peopleIn, showDeployment, type People } from "./people.ts";
import type { OrchestratorView, RecordedEvent } from "./protocol.ts";

const alice = { id: "00000000-0000-4000-8000-00000000000a", email: "alice@example.test" };
const gone = { id: "00000000-0000-4000-8000-00000000000b", email: "bob@example.test" };
const people: People = { emailOf: new Map([[alice.id, alice.email]]), emails: new Set([alice.email]) };

let seq = 0;
const event = (type: string, message: string, actor: string | null = null): RecordedEvent => ({
  seq: ++seq,
  at: "2026-12-06T00:00:00.000Z",
  type,
  stage: "production",
  message,
  actor,
});

function viewOf(events: RecordedEvent[], approvers: (string | null)[] = [], reason: string | null = null): OrchestratorView {
  const stage = (approver: string | null, i: number) => ({
    id: `00000000-0000-4000-8000-00000000010${i}`,
    name: `stage-${i}`,
    platform: "sparki-static",
    strategy: "all-at-once" as const,
    status: "healthy" as const,
    approval: true,
    approverRoles: ["owner" as const],
    approvedBy: approver ? { id: approver } : null,
    approvedAt: approver ? "2026-12-06T00:00:00.000Z" : null,
    trafficPercent: 100,
    passes: 1,
    failures: 0,
    url: null,
    startedAt: null,
    completedAt: null,
  });
  return {
    id: "00000000-0000-4000-8000-000000000001",
    projectId: "00000000-0000-4000-8000-000000000002",
    buildId: "00000000-0000-4000-8000-000000000003",
    commitSha: null,
    branch: "main",
    status: "succeeded",
    reason,
    trigger: "manual",
    pullRequest: null,
    createdAt: "2026-12-06T00:00:00.000Z",
    completedAt: null,
    stages: approvers.map(stage),
    events,
  };
}

describe("people a deployment names", () => {
  it("shows an approver and an event's actor by their email while they have an account, as a deleted user after", () => {
    const shown = showDeployment(
      viewOf([event("approved", "approved", alice.id), event("cancel_requested", "cancelled", gone.id)], [alice.id, gone.id]),
      people,
    );
    expect(shown.stages.map((s) => [s.approvedBy, s.approvedAt !== null])).toEqual([
      [alice, true],
      [null, true],
    ]);
    expect(shown.events.map((e) => e.message)).toEqual([`approved by ${alice.email}`, "cancelled by a deleted user"]);
    expect(shown.events[0]).not.toHaveProperty("actor");
  });

  it("reads what an older orchestrator stored with an email the same way, and leaves other text alone", () => {
    const view = viewOf(
      [
        event("approved", `approved by ${alice.email}`),
        event("rollback_requested", `rollback requested by ${gone.email}`),
        event("cancel_requested", "cancelled by the close of pull request #3"),
        event("rolled_back", `rolled back by hand (${alice.email})`),
        // A platform's words that happen to read like one: not a request event, so not a person.
        event("failed", `deploy failed: approved by ${gone.email}`),
      ],
      [],
      `rolled back by hand (${gone.email})`,
    );
    expect(peopleIn(view)).toEqual({ ids: [], emails: [alice.email, gone.email] });
    const shown = showDeployment(view, people);
    expect(shown.events.map((e) => e.message)).toEqual([
      `approved by ${alice.email}`,
      "rollback requested by a deleted user",
      "cancelled by the close of pull request #3",
      "rolled back by hand",
      `deploy failed: approved by ${gone.email}`,
    ]);
    expect(shown.reason).toBe("rolled back by hand");
  });

  it("asks Postgres nothing when nobody is named", async () => {
    const found = await lookUpPeople(() => Promise.reject(new Error("no connection expected")), peopleIn(viewOf([event("created", "deployment")])));
    expect(found.emailOf.size).toBe(0);
  });
});
