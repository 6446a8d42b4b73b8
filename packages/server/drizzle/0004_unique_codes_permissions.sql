CREATE TABLE "app_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"token_hash" text NOT NULL,
	"organization_id" uuid NOT NULL,
	"unique_code_id" uuid NOT NULL,
	"device_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ekeys" (
	"key_id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"lock_id" uuid NOT NULL,
	"permission_id" uuid NOT NULL,
	"unique_code_id" uuid,
	"user_id" uuid,
	"level" text NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"issued_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "permissions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"lock_id" uuid NOT NULL,
	"grantee_type" text NOT NULL,
	"unique_code_id" uuid,
	"user_id" uuid,
	"level" text NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"schedule" jsonb,
	"used_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_by" uuid
);
--> statement-breakpoint
CREATE TABLE "unique_codes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"description" text NOT NULL,
	"code_encrypted" text NOT NULL,
	"code_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"bound_device_id" text,
	"bound_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "app_sessions" ADD CONSTRAINT "app_sessions_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_sessions" ADD CONSTRAINT "app_sessions_unique_code_id_unique_codes_id_fk" FOREIGN KEY ("unique_code_id") REFERENCES "public"."unique_codes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ekeys" ADD CONSTRAINT "ekeys_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ekeys" ADD CONSTRAINT "ekeys_lock_id_locks_id_fk" FOREIGN KEY ("lock_id") REFERENCES "public"."locks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ekeys" ADD CONSTRAINT "ekeys_permission_id_permissions_id_fk" FOREIGN KEY ("permission_id") REFERENCES "public"."permissions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_lock_id_locks_id_fk" FOREIGN KEY ("lock_id") REFERENCES "public"."locks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_unique_code_id_unique_codes_id_fk" FOREIGN KEY ("unique_code_id") REFERENCES "public"."unique_codes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_revoked_by_users_id_fk" FOREIGN KEY ("revoked_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "unique_codes" ADD CONSTRAINT "unique_codes_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "unique_codes" ADD CONSTRAINT "unique_codes_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "app_sessions_token_hash_key" ON "app_sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "app_sessions_unique_code_idx" ON "app_sessions" USING btree ("unique_code_id");--> statement-breakpoint
CREATE INDEX "ekeys_permission_idx" ON "ekeys" USING btree ("permission_id");--> statement-breakpoint
CREATE INDEX "ekeys_lock_revoked_idx" ON "ekeys" USING btree ("lock_id","not_after") WHERE "ekeys"."revoked_at" is not null;--> statement-breakpoint
CREATE INDEX "permissions_org_idx" ON "permissions" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "permissions_lock_idx" ON "permissions" USING btree ("lock_id");--> statement-breakpoint
CREATE INDEX "permissions_unique_code_idx" ON "permissions" USING btree ("unique_code_id");--> statement-breakpoint
CREATE INDEX "permissions_user_idx" ON "permissions" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "permissions_lock_unique_code_key" ON "permissions" USING btree ("lock_id","unique_code_id") WHERE "permissions"."revoked_at" is null and "permissions"."unique_code_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "permissions_lock_user_key" ON "permissions" USING btree ("lock_id","user_id") WHERE "permissions"."revoked_at" is null and "permissions"."user_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "unique_codes_code_hash_key" ON "unique_codes" USING btree ("code_hash");--> statement-breakpoint
CREATE INDEX "unique_codes_org_idx" ON "unique_codes" USING btree ("organization_id");