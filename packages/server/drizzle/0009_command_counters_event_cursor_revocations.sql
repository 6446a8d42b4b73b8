ALTER TABLE "events" ADD COLUMN "tx" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "locks" ADD COLUMN "command_sent_counter" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "locks" ADD COLUMN "revocations_left_out" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "events_org_tx_id_idx" ON "events" USING btree ("organization_id","tx","id");