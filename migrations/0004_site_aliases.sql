CREATE TABLE "site_aliases" (
	"project_id" uuid NOT NULL,
	"stage" varchar(50) NOT NULL,
	"deployment_id" uuid NOT NULL,
	"previous_deployment_id" uuid,
	"canary_deployment_id" uuid,
	"canary_percent" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "site_aliases_project_id_stage_pk" PRIMARY KEY("project_id","stage"),
	CONSTRAINT "site_aliases_canary_check" CHECK ("site_aliases"."canary_percent" between 0 and 100)
);
--> statement-breakpoint
ALTER TABLE "site_aliases" ADD CONSTRAINT "site_aliases_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;