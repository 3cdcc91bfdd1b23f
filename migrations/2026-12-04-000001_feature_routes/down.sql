DROP TABLE feature_routes;
DROP SEQUENCE feature_route_versions;
