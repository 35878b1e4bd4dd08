"""The customer pool: customers, identities, channels, consent, products, orders, events, tags."""
