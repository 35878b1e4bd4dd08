"""Groups (社群): small live groups, group codes, membership and health."""
