CREATE TABLE "push_hooks" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"ciphertext" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source" varchar(20) NOT NULL,
	"delivery_id" varchar(255) NOT NULL,
	"project_id" uuid,
	"installation_id" bigint,
	"event" varchar(50) NOT NULL,
	"outcome" varchar(20) NOT NULL,
	"detail" varchar(500),
	"build_id" uuid,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "uq_webhook_deliveries_delivery" UNIQUE NULLS NOT DISTINCT("source","project_id","installation_id","delivery_id"),
	CONSTRAINT "webhook_deliveries_source_check" CHECK ("webhook_deliveries"."source" in ('push-hook', 'github', 'gitlab')),
	CONSTRAINT "webhook_deliveries_outcome_check" CHECK ("webhook_deliveries"."outcome" in ('started', 'ignored', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "push_hooks" ADD CONSTRAINT "push_hooks_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_hooks" ADD CONSTRAINT "push_hooks_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_webhook_deliveries_project_recent" ON "webhook_deliveries" USING btree ("project_id","received_at" DESC NULLS LAST);