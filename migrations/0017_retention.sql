CREATE TABLE "workspace_retention" (
	"workspace_id" uuid NOT NULL,
	"kind" varchar(20) NOT NULL,
	"days" integer NOT NULL,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspace_retention_workspace_id_kind_pk" PRIMARY KEY("workspace_id","kind"),
	CONSTRAINT "workspace_retention_kind_check" CHECK ("workspace_retention"."kind" in ('logs', 'artifacts', 'caches', 'sites')),
	CONSTRAINT "workspace_retention_days_check" CHECK ("workspace_retention"."days" between 1 and 3650)
);
--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "logs_expired_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "artifacts_expired_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "site_expired_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workspace_retention" ADD CONSTRAINT "workspace_retention_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspace_retention" ADD CONSTRAINT "workspace_retention_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_builds_logs_kept" ON "builds" USING btree ("completed_at") WHERE "builds"."logs_expired_at" is null and "builds"."completed_at" is not null;--> statement-breakpoint
CREATE INDEX "idx_builds_artifacts_kept" ON "builds" USING btree ("completed_at") WHERE "builds"."artifacts_expired_at" is null and "builds"."completed_at" is not null;--> statement-breakpoint
CREATE INDEX "idx_releases_site_kept" ON "releases" USING btree ("completed_at") WHERE "releases"."site_expired_at" is null and "releases"."completed_at" is not null;