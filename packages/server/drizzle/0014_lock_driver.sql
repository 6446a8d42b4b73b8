ALTER TABLE "locks" ADD COLUMN "driver" text DEFAULT 'latchkey' NOT NULL;--> statement-breakpoint
ALTER TABLE "locks" ADD COLUMN "matter" jsonb;