-- PostGIS geometry and the btree_gist operator classes for composite
-- (slide_id, geometry) GiST indexes. Setup creates them as a superuser; this
-- makes a fresh database work too. Both live in "public", shared by all schemas.
CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
