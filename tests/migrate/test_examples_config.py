"""Every migration example passes `ddb-backupd check-config`, and its guide cites it."""

from __future__ import annotations

import pytest

from tests.deploy.test_examples import check_config
from tests.migrate.examples import EXAMPLES, GUIDES, SAMPLES


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_example_config_of_each_sample_passes_check_config(sample: str) -> None:
    [effective] = check_config({"BACKUPD_CONFIG_FILE": str(EXAMPLES / f"{sample}.yaml")})
    assert effective["region"] == "eu-west-1"


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_guide_cites_its_example_config(sample: str) -> None:
    guide = (GUIDES / f"{sample}.md").read_text(encoding="utf-8")
    assert f"config/examples/{sample}.yaml" in guide
    assert f"({sample}.md)" in (GUIDES / "README.md").read_text(encoding="utf-8")
