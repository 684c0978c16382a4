"""Scheduling capability: scheduled backups (native or AWS Backup) and retention."""
