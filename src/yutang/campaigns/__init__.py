"""Operations on autopilot: segments, content library, campaigns with caps and holdouts,
follow-ups."""
