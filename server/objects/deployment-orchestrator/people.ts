/**
 * The people a deployment names (who approved a stage, who cancelled, who asked for a rollback):
 * the orchestrator keeps their user ids, never their emails, and every view that leaves Sparki
 * (the API's answers, the events socket's frames) shows each one by their email as it is now, in
 * one query. Once their account is deleted the view says "a deleted user" and the orchestrator
 * holds nothing that names them.
 *
 * Deployments stored before people were kept by id wrote the email into the text ("approved by
 * a@b.c", "rolled back by hand (a@b.c)"): such text is shown the same way (by the email, only
 * while an account has it), Postgres gets it without the email (sync.ts), and migration 0021
 * converted the rows Postgres had.
 */
import { inArray, or } from "drizzle-orm";
import type { Deployment, DeploymentEventView } from "../../../core/contracts/deployments.ts";
import type { Db } from "../../db/client.js";
import { users } from "../../db/schema.js";
import type { OrchestratorView, RecordedEvent } from "./protocol.js";

/** How a person whose account is gone is shown. */
export const deletedUser = "a deleted user";

/** The people a view names: user ids, and emails in text stored before people were kept by id. */
export interface Wanted {
  ids: string[];
  emails: string[];
}

/** Who of them has an account now: email by user id, and the emails that are an account's. */
export interface People {
  emailOf: ReadonlyMap<string, string>;
  emails: ReadonlySet<string>;
}

const nobody: People = { emailOf: new Map(), emails: new Set() };

/** The old orchestrator's request events: their words, then " by " and the person's email. Matched per type. */
const oldRequest: Record<string, RegExp> = {
  approved: /^(approved) by ([^\s@()]+@[^\s()]+)$/,
  cancel_requested: /^(cancelled) by ([^\s@()]+@[^\s()]+)$/,
  rollback_requested: /^(rollback requested) by ([^\s@()]+@[^\s()]+)$/,
};
/** The old reason of a rollback asked for by hand, naming who asked (the request event names them too). */
const oldHandRollback = /rolled back by hand \([^\s@()]+@[^\s()]+\)/g;

/** An event of the old orchestrator that names a person by email: its words and the email. */
export function oldRequestOf(event: { type: string; message: string; actor: string | null }): { words: string; email: string } | null {
  const match = event.actor === null ? oldRequest[event.type]?.exec(event.message) : null;
  return match?.[1] && match[2] ? { words: match[1], email: match[2] } : null;
}

/** Text without the person an old hand rollback's reason named ("rolled back by hand", as it is now written). */
export function withoutOldHandRollback(text: string): string {
  return text.replace(oldHandRollback, "rolled back by hand");
}

/** The people `view` names. */
export function peopleIn(view: Pick<OrchestratorView, "stages" | "events">): Wanted {
  const ids = new Set<string>();
  const emails = new Set<string>();
  for (const s of view.stages) if (s.approvedBy) ids.add(s.approvedBy.id);
  for (const e of view.events) {
    if (e.actor) ids.add(e.actor);
    const old = oldRequestOf(e);
    if (old) emails.add(old.email);
  }
  return { ids: [...ids], emails: [...emails] };
}

/** Who of `wanted` has an account now: one query, and no connection (`db` is not called) when nobody is wanted. */
export async function lookUpPeople(db: () => Promise<Pick<Db, "select">>, wanted: Wanted): Promise<People> {
  if (wanted.ids.length === 0 && wanted.emails.length === 0) return nobody;
  const rows = await (await db())
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(or(wanted.ids.length > 0 ? inArray(users.id, wanted.ids) : undefined, wanted.emails.length > 0 ? inArray(users.email, wanted.emails) : undefined));
  return { emailOf: new Map(rows.map((r) => [r.id, r.email])), emails: new Set(rows.map((r) => r.email)) };
}

/** One event as the API shows it: the person who asked for it by their email, or as a deleted user. */
export function showEvent(event: RecordedEvent, people: People): DeploymentEventView {
  const { actor, ...shown } = event;
  if (actor) return { ...shown, message: `${event.message} by ${people.emailOf.get(actor) ?? deletedUser}` };
  const old = oldRequestOf(event);
  if (old) return { ...shown, message: `${old.words} by ${people.emails.has(old.email) ? old.email : deletedUser}` };
  return { ...shown, message: withoutOldHandRollback(event.message) };
}

/** The deployment as the API shows it: an approver whose account is gone is null (`approvedAt` stays). */
export function showDeployment(view: OrchestratorView, people: People): Deployment {
  return {
    ...view,
    reason: view.reason === null ? null : withoutOldHandRollback(view.reason),
    stages: view.stages.map((s) => {
      const email = s.approvedBy ? people.emailOf.get(s.approvedBy.id) : undefined;
      return { ...s, approvedBy: s.approvedBy && email !== undefined ? { id: s.approvedBy.id, email } : null };
    }),
    events: view.events.map((e) => showEvent(e, people)),
  };
}

/** `showDeployment` with the people looked up on `db`. */
export async function shownDeployment(db: () => Promise<Pick<Db, "select">>, view: OrchestratorView): Promise<Deployment> {
  return showDeployment(view, await lookUpPeople(db, peopleIn(view)));
}
