-- trajc 0.1.0 -> 0.2.0 (ALTER EXTENSION trajc UPDATE).
-- Every schema change of 0.2.0 appears here and in trajc--0.2.0.sql; the
-- upgrade test compares the catalog of both paths object by object.
\echo Use "ALTER EXTENSION trajc UPDATE TO '0.2.0'" to load this file. \quit
