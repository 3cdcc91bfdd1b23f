DROP FUNCTION org_usage_json(BIGINT, TIMESTAMPTZ);
DROP FUNCTION feature_routes_json(BIGINT);
