"""Prometheus metrics for API Particulier."""
