CREATE TABLE "lock_sync" (
	"lock_id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"reported" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"reported_at" timestamp with time zone,
	"stale" boolean DEFAULT true NOT NULL,
	"read_requested_at" timestamp with time zone,
	"pending" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "access_codes" ADD COLUMN "pending_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "access_codes" ADD COLUMN "expired_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "lock_sync" ADD CONSTRAINT "lock_sync_lock_id_locks_id_fk" FOREIGN KEY ("lock_id") REFERENCES "public"."locks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lock_sync" ADD CONSTRAINT "lock_sync_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "lock_sync_due_idx" ON "lock_sync" USING btree ("due_at");