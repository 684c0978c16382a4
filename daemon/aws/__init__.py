"""Thin adapters over AWS: one aioboto3 session, one client per service, every call counted."""
