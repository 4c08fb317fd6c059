CREATE TABLE "github_check_runs" (
	"build_id" uuid PRIMARY KEY NOT NULL,
	"check_run_id" bigint,
	"reported" varchar(20),
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "github_check_runs_reported_check" CHECK ("github_check_runs"."reported" in ('queued', 'in_progress', 'completed'))
);
--> statement-breakpoint
CREATE TABLE "github_deployments" (
	"deployment_id" uuid PRIMARY KEY NOT NULL,
	"github_deployment_id" bigint,
	"reported" varchar(20),
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "github_check_runs" ADD CONSTRAINT "github_check_runs_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD CONSTRAINT "github_deployments_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;