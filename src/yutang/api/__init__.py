"""The integrator's API: ``/api/v1``, JSON, API-key (Bearer) authentication."""
