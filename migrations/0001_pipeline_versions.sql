ALTER TABLE "pipelines" ADD COLUMN "content_hash" varchar(64) NOT NULL;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "source" varchar(20) NOT NULL;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "detection" jsonb;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "sparki_yml" text;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "snapshot_key" varchar(255);--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "created_by" uuid;--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_source_check" CHECK ("pipelines"."source" in ('detect', 'sparki.yml', 'upload'));