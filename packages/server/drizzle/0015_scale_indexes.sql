DROP INDEX "access_codes_org_idx";--> statement-breakpoint
CREATE INDEX "access_codes_org_created_idx" ON "access_codes" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE INDEX "access_codes_org_status_created_idx" ON "access_codes" USING btree ("organization_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "access_codes_org_errors_created_idx" ON "access_codes" USING btree ("organization_id","created_at","id") WHERE jsonb_array_length("access_codes"."errors") > 0;