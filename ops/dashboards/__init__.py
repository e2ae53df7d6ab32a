"""Grafana dashboards as code (``build.py``) and their committed JSON (``*.json``)."""
