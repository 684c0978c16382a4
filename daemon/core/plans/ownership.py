"""What marks a backup plan, selection or vault as the daemon's: tags and a name prefix.

The daemon writes these tags when it creates a plan or a vault and reads them before it
changes anything: a plan without them is someone else's and is never updated, tagged or
given selections, even when its name is the one the configuration asks for. A selection is
the daemon's when its plan is and its name begins with `SELECTION_PREFIX`; selections a
person adds to one of the daemon's plans under another name are left alone.

`TAG_CONFIG` holds the fingerprint of the configuration the daemon last applied to a plan. A
plan that differs from the configuration while the fingerprint still matches was changed in
AWS (drift); one whose fingerprint differs is behind a changed configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

TAG_MANAGED_BY = "backupd:managed-by"
MANAGED_BY = "ddb-backupd"
TAG_PLAN = "backupd:plan"
TAG_VAULT = "backupd:vault"
TAG_CONFIG = "backupd:config"
SELECTION_PREFIX = "backupd-"
SELECTION_NAME_MAX = 50


def plan_tags(plan: str, fingerprint: str) -> dict[str, str]:
    """The tags of a plan the daemon creates (`BackupPlanTags`)."""
    return {TAG_MANAGED_BY: MANAGED_BY, TAG_PLAN: plan, TAG_CONFIG: fingerprint}


def vault_tags(vault: str) -> dict[str, str]:
    """The tags of a vault the daemon creates (`BackupVaultTags`)."""
    return {TAG_MANAGED_BY: MANAGED_BY, TAG_VAULT: vault}


def owns_plan(tags: Mapping[str, str], plan: str) -> bool:
    """Whether a plan with these tags is the daemon's plan `plan`."""
    return tags.get(TAG_MANAGED_BY) == MANAGED_BY and tags.get(TAG_PLAN) == plan


def owns_vault(tags: Mapping[str, str], vault: str) -> bool:
    """Whether a vault with these tags is one the daemon created as `vault`."""
    return tags.get(TAG_MANAGED_BY) == MANAGED_BY and tags.get(TAG_VAULT) == vault


def selection_name(name: str) -> str:
    """The AWS `SelectionName` of the configured selection `name`."""
    return SELECTION_PREFIX + name


def owns_selection(selection_name_in_aws: str) -> bool:
    """Whether a selection of one of the daemon's plans is the daemon's (by its name)."""
    return selection_name_in_aws.startswith(SELECTION_PREFIX)


def applied_fingerprint(tags: Mapping[str, str]) -> str | None:
    """The fingerprint of the configuration last applied to a plan, if any."""
    return tags.get(TAG_CONFIG)
