ALTER TABLE "deployment_events" ADD COLUMN "actor_id" uuid;--> statement-breakpoint
ALTER TABLE "deployment_events" ADD CONSTRAINT "deployment_events_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_deployment_events_actor" ON "deployment_events" USING btree ("actor_id") WHERE "deployment_events"."actor_id" is not null;--> statement-breakpoint
-- Events an older orchestrator wrote with a person's email ("approved by a@b.c"): the person by id
-- (null when no account has that email any more) and the words without the email, as
-- server/objects/deployment-orchestrator/people.ts reads them.
UPDATE "deployment_events" SET
  "actor_id" = (SELECT "users"."id" FROM "users" WHERE "users"."email" = substring("deployment_events"."message" FROM '^(?:approved|cancelled|rollback requested) by ([^[:space:]@()]+@[^[:space:]()]+)$')),
  "message" = substring("deployment_events"."message" FROM '^(approved|cancelled|rollback requested) by ')
WHERE "actor_id" IS NULL
  AND ("type", substring("message" FROM '^(approved|cancelled|rollback requested) by [^[:space:]@()]+@[^[:space:]()]+$')) IN (('approved', 'approved'), ('cancel_requested', 'cancelled'), ('rollback_requested', 'rollback requested'));--> statement-breakpoint
-- A rollback asked for by hand named who asked in its reason; the request event names them (by id).
UPDATE "deployment_events" SET "message" = regexp_replace("message", 'rolled back by hand \([^[:space:]@()]+@[^[:space:]()]+\)', 'rolled back by hand', 'g')
WHERE "message" ~ 'rolled back by hand \([^[:space:]@()]+@[^[:space:]()]+\)';--> statement-breakpoint
UPDATE "releases" SET "reason" = regexp_replace("reason", 'rolled back by hand \([^[:space:]@()]+@[^[:space:]()]+\)', 'rolled back by hand', 'g')
WHERE "reason" ~ 'rolled back by hand \([^[:space:]@()]+@[^[:space:]()]+\)';
