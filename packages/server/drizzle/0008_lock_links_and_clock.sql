ALTER TABLE "gateways" ADD COLUMN "status_session" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "locks" ADD COLUMN "in_range" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "locks" ADD COLUMN "link_at" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "locks" ADD COLUMN "clock_counter" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "locks" SET "in_range" = "online";