"""Domain-free building blocks: database, errors, money, clock, crypto, pagination."""
