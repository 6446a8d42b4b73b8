CREATE TABLE "lock_commands" (
	"id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"lock_id" uuid NOT NULL,
	"type" text NOT NULL,
	"counter" bigint NOT NULL,
	"command" jsonb NOT NULL,
	"pin_encrypted" text,
	"status" text NOT NULL,
	"reply" jsonb,
	"sent_at" timestamp with time zone NOT NULL,
	"replied_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "lock_commands" ADD CONSTRAINT "lock_commands_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lock_commands" ADD CONSTRAINT "lock_commands_lock_id_locks_id_fk" FOREIGN KEY ("lock_id") REFERENCES "public"."locks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "lock_commands_lock_sent_idx" ON "lock_commands" USING btree ("lock_id","sent_at");--> statement-breakpoint
CREATE INDEX "lock_commands_sent_idx" ON "lock_commands" USING btree ("sent_at");--> statement-breakpoint
CREATE UNIQUE INDEX "gateways_token_hash_key" ON "gateways" USING btree ("token_hash");