"""ARNs are read one way: fields, table names, identifiers and short names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core import arns
from daemon.core.arns import Arn

TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
BACKUP = f"{TABLE}/backup/01764-abc"
EXPORT = f"{TABLE}/export/01764-def"
STREAM = f"{TABLE}/stream/2026-11-24T05:00:00.000"
VAULT = "arn:aws:backup:eu-west-1:111122223333:backup-vault:ops"
POINT = "arn:aws:backup:eu-west-1:111122223333:recovery-point:5d3f-4a1b"
DB = "arn:aws:rds:eu-west-1:111122223333:db:billing"
CLUSTER = "arn:aws:rds:eu-west-1:111122223333:cluster:ledger"
SNAPSHOT = "arn:aws:rds:eu-west-1:111122223333:snapshot:rds:billing-2026-11-24-05-00"
VOLUME = "arn:aws:ec2:us-west-2:111122223333:volume/vol-0b5ae24f2ee72d926"
TOPIC = "arn:aws:sns:us-east-1:111122223333:alerts"
BUCKET = "arn:aws:s3:::backups"
GOV = "arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/orders"


@pytest.mark.parametrize(("text", "parsed"), [
    (TABLE, Arn("aws", "dynamodb", "eu-west-1", "111122223333", "table/orders")),
    (BACKUP, Arn("aws", "dynamodb", "eu-west-1", "111122223333", "table/orders/backup/01764-abc")),
    (SNAPSHOT, Arn("aws", "rds", "eu-west-1", "111122223333", "snapshot:rds:billing-2026-11-24-05-00")),
    (BUCKET, Arn("aws", "s3", "", "", "backups")),
    (GOV, Arn("aws-us-gov", "dynamodb", "us-gov-west-1", "111122223333", "table/orders")),
    ("arn:aws:sns:us-east-1:111122223333", None),
    ("urn:aws:sns:us-east-1:111122223333:alerts", None),
    ("orders", None),
    ("", None),
    (None, None),
])
def test_an_arn_is_its_five_fields_or_none(text: str | None, parsed: Arn | None) -> None:
    assert arns.parse(text) == parsed


@pytest.mark.parametrize(("text", "kind", "ident"), [
    (TABLE, "table", "orders"),
    (BACKUP, "table", "orders/backup/01764-abc"),
    (VAULT, "backup-vault", "ops"),
    (POINT, "recovery-point", "5d3f-4a1b"),
    (DB, "db", "billing"),
    (SNAPSHOT, "snapshot", "rds:billing-2026-11-24-05-00"),
    (VOLUME, "volume", "vol-0b5ae24f2ee72d926"),
    (TOPIC, "", "alerts"),
])
def test_a_resource_is_its_type_and_its_id(text: str, kind: str, ident: str) -> None:
    parsed = arns.parse(text)
    assert parsed is not None
    assert (parsed.resource_type, parsed.resource_id) == (kind, ident)


@pytest.mark.parametrize(("text", "name", "table"), [
    (TABLE, "orders", TABLE),
    (BACKUP, "orders", TABLE),
    (EXPORT, "orders", TABLE),
    (STREAM, "orders", TABLE),
    (GOV, "orders", GOV),
    ("arn:aws:dynamodb:eu-west-1:1:table/", None, None),
    ("arn:aws:glue:eu-west-1:1:table/db/orders", None, None),
    (POINT, None, None),
    ("table/orders", None, None),
    (None, None, None),
])
def test_table_names_and_arns_come_from_tables_and_what_belongs_to_them(
        text: str | None, name: str | None, table: str | None) -> None:
    assert arns.table_name(text) == name
    assert arns.table_arn(text) == table


@pytest.mark.parametrize(("text", "table", "backup"), [
    (TABLE, True, False), (GOV, True, False), (BACKUP, False, True), (EXPORT, False, False),
    (POINT, False, False), (None, False, False)])
def test_a_table_and_a_native_backup_are_told_apart(text: str | None, table: bool,
                                                   backup: bool) -> None:
    assert (arns.is_table(text), arns.is_dynamodb_backup(text)) == (table, backup)


@pytest.mark.parametrize(("text", "ident"), [
    (DB, "billing"), (CLUSTER, "ledger"), (SNAPSHOT, None), (TABLE, None),
    ("arn:aws:rds:eu-west-1:1:db:", None), (None, None)])
def test_rds_identifiers_come_from_instances_and_clusters(text: str | None,
                                                          ident: str | None) -> None:
    assert arns.rds_identifier(text) == ident


@pytest.mark.parametrize(("text", "name"), [
    (TABLE, "orders"), (BACKUP, "orders"), (VOLUME, "vol-0b5ae24f2ee72d926"),
    (DB, "billing"), (POINT, "5d3f-4a1b"), (TOPIC, "alerts"), (BUCKET, "backups"),
    ("arn:aws:s3:::", None), ("orders", None), (None, None)])
def test_a_short_name_is_what_people_call_the_resource(text: str | None,
                                                      name: str | None) -> None:
    assert arns.short_name(text) == name


FIELD = st.text(st.characters(blacklist_characters=":", codec="ascii"), max_size=20)


@given(FIELD, FIELD, FIELD, FIELD, st.text(st.characters(codec="ascii"), max_size=60))
def test_an_arn_reads_back_as_written(partition: str, service: str, region: str,
                                      account: str, resource: str) -> None:
    """Every field comes back as written (the resource with all its colons and slashes)."""
    arn = Arn(partition, service, region, account, resource)
    assert arns.parse(str(arn)) == arn
