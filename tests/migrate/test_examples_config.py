"""Every migration example passes `ddb-backupd check-config`."""

from __future__ import annotations

import pytest

from tests.deploy.test_examples import check_config
from tests.migrate.examples import EXAMPLES, SAMPLES


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_example_config_of_each_sample_passes_check_config(sample: str) -> None:
    [effective] = check_config({"BACKUPD_CONFIG_FILE": str(EXAMPLES / f"{sample}.yaml")})
    assert effective["region"] == "eu-west-1"

