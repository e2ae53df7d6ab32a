"""Helpers behind scripts/services: start/stop the real Kafka, PostgreSQL and Redis for tests.

Standard library only, because scripts/services must work before `pip install`.
"""
