-- Secret and routing settings: keys are never displayed and never stored in
-- world-readable catalogs; base URLs (which decide where keys go) are
-- superuser-only.
SET trajc.gemini_api_key = 'k-visible-nowhere';
SHOW trajc.gemini_api_key;
SELECT current_setting('trajc.gemini_api_key');
SELECT setting FROM pg_settings WHERE name = 'trajc.gemini_api_key';
SELECT count(*) AS keys_in_show_all FROM pg_settings WHERE name LIKE 'trajc.%api_key' AND setting LIKE 'k-%';
RESET trajc.gemini_api_key;

-- World-readable places refuse keys.
ALTER DATABASE contrib_regression SET trajc.gemini_api_key = 'k-leak';
ALTER ROLE CURRENT_USER SET trajc.openai_api_key = 'k-leak';
CREATE FUNCTION leak() RETURNS int LANGUAGE sql SET trajc.anthropic_api_key = 'k-leak' AS 'SELECT 1';
SELECT count(*) AS stored FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'trajc.%';

-- Unprivileged roles can neither read nor set keys or base URLs.
CREATE ROLE regress_trajc_user;
SET ROLE regress_trajc_user;
SHOW trajc.gemini_api_key;
SET trajc.gemini_api_key = 'k-mine';
SET trajc.openai_base_url = 'http://attacker.example';
SET trajc.provider = 'openai';
SHOW trajc.provider;
SET trajc.provider = 'carrier-pigeon';
SET trajc.tier = 'luxury';
RESET ROLE;
DROP ROLE regress_trajc_user;

-- Compiling reaches the network: not executable by PUBLIC.
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_can_execute
  FROM pg_proc p WHERE p.proname LIKE 'trajc\_%' ORDER BY 1;
