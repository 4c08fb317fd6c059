CREATE TABLE "stage_rules" (
	"project_id" uuid NOT NULL,
	"stage" varchar(50) NOT NULL,
	"require_approval" boolean DEFAULT false NOT NULL,
	"branches" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"approver_roles" jsonb DEFAULT '["owner","admin"]'::jsonb NOT NULL,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stage_rules_project_id_stage_pk" PRIMARY KEY("project_id","stage")
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "scope" varchar(10) DEFAULT 'admin' NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "approved_by" uuid;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "approved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "sessions_revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "shared_runners" varchar(20) DEFAULT 'no-secrets' NOT NULL;--> statement-breakpoint
ALTER TABLE "stage_rules" ADD CONSTRAINT "stage_rules_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stage_rules" ADD CONSTRAINT "stage_rules_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_approved_by_users_id_fk" FOREIGN KEY ("approved_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_scope_check" CHECK ("api_tokens"."scope" in ('read', 'write', 'admin'));--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_shared_runners_check" CHECK ("workspaces"."shared_runners" in ('never', 'no-secrets', 'always'));