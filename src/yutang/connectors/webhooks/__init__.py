"""Mini-program and app webhooks: the ingestion API's events and orders, pushed by a named
source and signed with HMAC-SHA256 over the timestamp and the raw body (see ``signing``)."""
