"""Adapters for the outside world: business search, websites, LLMs, SendGrid.

Every adapter uses the real client library and differs from production only by
its base URL. Errors are raised as `ProviderError` subclasses so the shared
stage runner can tell a retry from a dead letter.
"""
