"""Which completed backups a rule listens to: its vaults (names or ARNs) and accounts."""

from __future__ import annotations

import pytest

from daemon.core.tasks.scope import Origin, in_scope, vault_matches

TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
OPS_ARN = "arn:aws:backup:eu-west-1:111122223333:backup-vault:ops"
OPS = Origin.of("ops", "eu-west-1", TABLE)


@pytest.mark.parametrize(("wanted", "origin", "matches"), [
    ("ops", OPS, True),
    ("ops", Origin.of("dev", "eu-west-1", TABLE), False),
    ("ops", Origin.of(None, "eu-west-1", TABLE), False),  # a native backup is in no vault
    (OPS_ARN, OPS, True),
    (OPS_ARN, Origin.of(OPS_ARN, None, TABLE), True),  # the event named it by ARN
    ("ops", Origin.of(OPS_ARN, None, TABLE), True),
    (OPS_ARN.replace("111122223333", "444455556666"), OPS, False),  # same name, other account
    (OPS_ARN.replace("eu-west-1", "us-east-1"), OPS, False),  # same name, other region
    (OPS_ARN, Origin("ops", None, None), True),  # only the name is known
    (OPS_ARN, Origin("dev", None, None), False),
])
def test_a_vault_is_matched_by_name_or_by_its_full_arn(
        wanted: str, origin: Origin, matches: bool) -> None:
    assert vault_matches(wanted, origin) is matches


@pytest.mark.parametrize(("vaults", "accounts", "origin", "covered"), [
    ([], [], OPS, True),
    ([], [], Origin.of(None, None, TABLE), True),
    (["ops"], [], OPS, True),
    (["dev", "ops"], [], OPS, True),
    (["dev"], [], OPS, False),
    ([], ["111122223333"], OPS, True),
    ([], ["444455556666"], OPS, False),
    (["ops"], ["444455556666"], OPS, False),
    ([], ["111122223333"], Origin.of(None, None, "not-an-arn"), False),
])
def test_a_rule_covers_a_backup_only_inside_its_vaults_and_accounts(
        vaults: list[str], accounts: list[str], origin: Origin, covered: bool) -> None:
    assert in_scope(vaults, accounts, origin) is covered


def test_the_account_and_region_come_from_the_resource_or_the_recovery_point() -> None:
    assert Origin.of("ops", None, TABLE) == Origin("ops", "eu-west-1", "111122223333")
    assert Origin.of("ops", "us-east-1", "x", OPS_ARN) == Origin("ops", "us-east-1",
                                                                 "111122223333")
