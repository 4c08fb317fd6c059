CREATE TABLE "pull_request_previews" (
	"project_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pull_request_previews_project_id_number_pk" PRIMARY KEY("project_id","number"),
	CONSTRAINT "pull_request_previews_number_check" CHECK ("pull_request_previews"."number" > 0)
);
--> statement-breakpoint
ALTER TABLE "releases" DROP CONSTRAINT "releases_trigger_check";--> statement-breakpoint
ALTER TABLE "pull_request_previews" ADD CONSTRAINT "pull_request_previews_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "releases" ADD CONSTRAINT "releases_trigger_check" CHECK ("releases"."trigger" in ('push', 'manual', 'preview'));