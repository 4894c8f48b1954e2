"""Dagster wiring: assets, checks, schedules and sensors around the pure cores."""
