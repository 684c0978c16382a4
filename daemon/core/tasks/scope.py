"""Which completed backups a restore or export rule listens to: its vaults and accounts (pure).

A rule without `vaults:` or `accounts:` hears every completed backup, in any vault, of any
account the daemon sees. With them, only backups in one of the named vaults (a name, or a
vault ARN), of a resource in one of the named accounts. A backup outside any vault (a native
DynamoDB backup, an RDS snapshot found by listing) is never in a rule's vaults: deleting a
source recovery point after an export is allowed only for rules that name their vaults.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from daemon.core import arns

VAULT_RESOURCE = "backup-vault:"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a completed backup was made: its vault (name or ARN), region and account."""

    vault: str | None
    region: str | None
    account: str | None

    @classmethod
    def of(cls, vault: str | None, region: str | None, resource_arn: str | None,
           recovery_point_arn: str | None = None) -> Origin:
        """The origin of a backup: the account and region are read from the resource's ARN
        (the recovery point's when the resource's is not an ARN)."""
        parsed = arns.parse(resource_arn) or arns.parse(recovery_point_arn)
        return cls(vault or None, region or (parsed.region if parsed else None) or None,
                   parsed.account if parsed and parsed.account else None)


def vault_name(vault: str) -> str:
    """The name of a vault given by name or by ARN (`...:backup-vault:NAME`)."""
    parsed = arns.parse(vault)
    if parsed is not None and parsed.resource.startswith(VAULT_RESOURCE):
        return parsed.resource[len(VAULT_RESOURCE):]
    return vault


def vault_arn(origin: Origin, partition: str = "aws") -> str | None:
    """The full ARN of the origin's vault, when its name, region and account are known."""
    if origin.vault is None:
        return None
    if arns.parse(origin.vault) is not None:
        return origin.vault
    if origin.region is None or origin.account is None:
        return None
    return f"arn:{partition}:backup:{origin.region}:{origin.account}:{VAULT_RESOURCE}{origin.vault}"


def vault_matches(wanted: str, origin: Origin) -> bool:
    """A name matches the vault's name; an ARN matches the vault's full ARN (so a vault of
    the same name in another account or region does not)."""
    if origin.vault is None:
        return False
    parsed = arns.parse(wanted)
    if parsed is None:
        return wanted == vault_name(origin.vault)
    actual = vault_arn(origin, parsed.partition)
    if actual is None:  # region or account unknown: only the name can be compared
        return vault_name(wanted) == vault_name(origin.vault) and \
            origin.account in (None, parsed.account) and origin.region in (None, parsed.region)
    return wanted == actual


def in_scope(vaults: Collection[str], accounts: Collection[str], origin: Origin) -> bool:
    """True when a rule with these `vaults` and `accounts` (empty: any) covers the backup."""
    if vaults and not any(vault_matches(wanted, origin) for wanted in vaults):
        return False
    return not accounts or origin.account in accounts
