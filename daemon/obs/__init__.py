"""Observability: structlog setup, the metrics facade, the tracker's scrape-time collector."""
