-- The two roles of the design: the owner runs migrations, the app role owns nothing
-- and has no BYPASSRLS, so row-level security applies to it.
CREATE ROLE stepline_owner LOGIN PASSWORD 'stepline-owner-local';
CREATE ROLE stepline_app LOGIN PASSWORD 'stepline-app-local' NOSUPERUSER NOBYPASSRLS NOCREATEDB;
CREATE DATABASE stepline OWNER stepline_owner;
\connect stepline
ALTER SCHEMA public OWNER TO stepline_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO stepline_app;
