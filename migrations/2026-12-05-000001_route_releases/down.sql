DROP TABLE route_releases;
