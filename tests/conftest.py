"""Test-wide settings."""

from hypothesis import HealthCheck, settings

# CI runs on 2 shared cores: input generation and examples may be slow. Properties, not speed,
# are what these tests check, so no per-example deadline and no too-slow health check.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")
