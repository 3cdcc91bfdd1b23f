-- The Provider tab's and the API's providers list in one *prepared* statement (issue 24
-- item 5). Its two JSON columns (the org's feature routes, each provider's last 24 hours)
-- were raw SQL fragments in the query, and diesel never caches a statement holding raw SQL:
-- every list was parsed and planned anew (a three-table join with two sub-plans). As
-- functions the list is a typed query diesel prepares once per connection, and PL/pgSQL
-- keeps each body's plan for the session.

-- The org's feature routes as a JSON array (by feature), as `models::feature_route`
-- reads them back.
CREATE FUNCTION feature_routes_json(p_org BIGINT) RETURNS JSONB
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'org_id', r.org_id, 'feature', r.feature, 'mode', r.mode,
                   'provider_id', r.provider_id, 'model', r.model,
                   'lock_version', r.lock_version, 'updated_at', r.updated_at,
                   'updated_by', r.updated_by) ORDER BY r.feature), '[]'::jsonb)
        FROM feature_routes r
        WHERE r.org_id = p_org);
END
$$;

-- Each of the org's providers' calls since `p_since` (the tab's last 24 hours): an object
-- by provider id, each as `models::provider_health::Usage24h` reads it back. The list asks
-- for it once (a sub-select, so PostgreSQL runs it once per list, not once per provider)
-- and takes each provider's entry with `->`.
CREATE FUNCTION org_usage_json(p_org BIGINT, p_since TIMESTAMPTZ) RETURNS JSONB
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_object_agg(x.provider_id, x.usage), '{}'::jsonb)
        FROM (
            SELECT u.provider_id,
                   jsonb_build_object(
                       'calls', sum(u.calls),
                       'errors', coalesce(sum(u.calls) FILTER (WHERE u.outcome <> 'ok'), 0),
                       'lastErrorCode',
                           (array_agg(u.code ORDER BY u.last_at DESC)
                                FILTER (WHERE u.outcome <> 'ok'))[1],
                       'lastErrorAt', max(u.last_at) FILTER (WHERE u.outcome <> 'ok')) AS usage
            FROM provider_usage u
            WHERE u.org_id = p_org AND u.minute >= p_since
            GROUP BY u.provider_id) AS x);
END
$$;
