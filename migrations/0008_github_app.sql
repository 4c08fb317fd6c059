CREATE TABLE "github_installation_repositories" (
	"installation_id" bigint NOT NULL,
	"repository_id" bigint NOT NULL,
	"full_name" varchar(255) NOT NULL,
	"private" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "github_installation_repositories_installation_id_repository_id_pk" PRIMARY KEY("installation_id","repository_id")
);
--> statement-breakpoint
CREATE TABLE "github_installations" (
	"id" bigint PRIMARY KEY NOT NULL,
	"account_login" varchar(255) NOT NULL,
	"account_type" varchar(20) NOT NULL,
	"repository_selection" varchar(20) DEFAULT 'selected' NOT NULL,
	"workspace_id" uuid,
	"linked_by" uuid,
	"linked_at" timestamp with time zone,
	"suspended_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "untrusted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "pull_request" integer;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "github_installation_id" bigint;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "github_repository_id" bigint;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "github_full_name" varchar(255);--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "trust_fork_pull_requests" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "github_installation_repositories" ADD CONSTRAINT "github_installation_repositories_installation_id_github_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."github_installations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "github_installations" ADD CONSTRAINT "github_installations_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "github_installations" ADD CONSTRAINT "github_installations_linked_by_users_id_fk" FOREIGN KEY ("linked_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_github_installation_repositories_repo" ON "github_installation_repositories" USING btree ("repository_id");--> statement-breakpoint
CREATE INDEX "idx_github_installations_workspace" ON "github_installations" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "idx_projects_github_repository" ON "projects" USING btree ("github_repository_id");