"""The settings' regular expressions stay cheap: pydantic's (Rust) regex engine unrolls a
bounded repeat `{n,m}`, so a long bound (`{1,2048}`) held megabytes for as long as the daemon
ran. Lengths are max_length constraints instead, with the same strings accepted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from daemon.config.plans import ROLE_ARN
from daemon.config.settings import Settings
from daemon.config.tasks import RestoreRule

LONGEST_REPEAT = 255


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_no_pattern_repeats_more_than_a_name_length() -> None:
    patterns = list(_patterns(Settings.model_json_schema()))
    assert patterns
    bounds = {p: [int(m) for m in re.findall(r"\{\d*,(\d+)\}", p)] for p in patterns}
    assert {p: b for p, b in bounds.items() if any(n > LONGEST_REPEAT for n in b)} == {}


def _rule(ssm_parameter: str) -> RestoreRule:
    return RestoreRule(name="staging", source_pattern="-production$", replacement="-staging",
                       ssm_parameter=ssm_parameter)


def test_ssm_parameter_length_is_still_1_to_2048() -> None:
    assert _rule("/a/" + "b" * 2045).ssm_parameter == "/a/" + "b" * 2045
    for bad in ("", "/a/" + "b" * 2046, "/a b"):
        with pytest.raises(ValidationError):
            _rule(bad)


def test_role_arns_are_ascii_as_iam_names_are() -> None:
    assert re.fullmatch(ROLE_ARN, "arn:aws:iam::123456789012:role/path/Backup+Role=a,b.c@d_e-f")
    assert not re.fullmatch(ROLE_ARN, "arn:aws:iam::123456789012:role/Sauvegardé")
