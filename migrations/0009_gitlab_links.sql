CREATE TABLE "gitlab_links" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"gitlab_project_id" bigint NOT NULL,
	"gitlab_path" varchar(1024) NOT NULL,
	"hook_token_ciphertext" text NOT NULL,
	"access_token_ciphertext" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "gitlab_links" ADD CONSTRAINT "gitlab_links_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "gitlab_links" ADD CONSTRAINT "gitlab_links_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_gitlab_links_gitlab_project" ON "gitlab_links" USING btree ("gitlab_project_id");