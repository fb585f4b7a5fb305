-- API keys get a scope: 'write' (every key so far, and the default) or 'read' (GETs only: wall screens and
-- external dashboards). The check keeps anything else out.
ALTER TABLE "api_keys" ADD COLUMN "scope" TEXT NOT NULL DEFAULT 'write';
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_scope_check" CHECK ("scope" IN ('read', 'write'));
