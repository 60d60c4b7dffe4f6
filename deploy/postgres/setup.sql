-- The site's database (docs/deployment.md, "PostgreSQL"), run once as the
-- postgres superuser:  sudo -u postgres psql -f deploy/postgres/setup.sql
-- then set the password:  sudo -u postgres psql -c "\password udi_edge"
-- The gateways create and migrate the tables themselves (Alembic, at start
-- or with `udi-edge db upgrade`); the role owns its database and nothing else.
CREATE ROLE udi_edge LOGIN;
CREATE DATABASE udi_edge OWNER udi_edge ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE udi_edge FROM PUBLIC;
