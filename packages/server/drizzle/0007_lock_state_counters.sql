ALTER TABLE "lock_sync" ADD COLUMN "report_counter" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "lock_sync" ADD COLUMN "table_counter" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "locks" ADD COLUMN "state_counter" bigint DEFAULT 0 NOT NULL;