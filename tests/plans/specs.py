"""Configured plans for the plans tests, as the YAML file would hold them."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/ddb-backupd-backup"
DR_VAULT = "arn:aws:backup:eu-west-1:123456789012:backup-vault:dr"


def plan_spec(name: str = "daily", vault_name: str = "plans-vault", **overrides: Any
              ) -> dict[str, Any]:
    """A realistic plan: a created, locked vault; two rules (one copied); one selection."""
    spec: dict[str, Any] = {
        "name": name,
        "vault": {"name": vault_name, "create": True,
                  "lock": {"min_retention_days": 7, "max_retention_days": 400}},
        "rules": [
            {"name": "daily", "expression": "cron(0 5 ? * * *)", "timezone": "Europe/Paris",
             "start_window_minutes": 60, "complete_window_minutes": 720,
             "lifecycle": {"delete_after_days": 35},
             "recovery_point_tags": {"made-by": "plan"}},
            {"name": "monthly", "expression": "cron(0 3 1 * ? *)",
             "lifecycle": {"move_to_cold_storage_after_days": 30, "delete_after_days": 365},
             "copy_to": [{"destination_vault_arn": DR_VAULT,
                          "lifecycle": {"delete_after_days": 365}}]},
        ],
        "selections": [
            {"name": "tables", "iam_role_arn": ROLE,
             "resources": ["arn:aws:dynamodb:*:*:table/orders-*"],
             "not_resources": ["arn:aws:dynamodb:*:*:table/orders-scratch"],
             "tags": {"backup": "daily"},
             "conditions": [{"key": "env", "value": "prod*", "operator": "like"}]},
        ],
    }
    spec.update(overrides)
    return spec
