"""CloudWatch datums any capability contributes to the one batched PutMetricData per interval.

The publisher belongs to the events capability; freshness and coverage belong to scheduling.
Neither imports the other: the composition root hands the publisher a `DatumSources`, and each
capability adds a provider to it (`sources.add(provider)`), as status sections go on the board.
A provider returns plain PutMetricData datums for the moment it is asked about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from types_aiobotocore_cloudwatch.literals import StandardUnitType
    from types_aiobotocore_cloudwatch.type_defs import DimensionTypeDef, MetricDatumTypeDef

log = structlog.get_logger(__name__)
type Datum = MetricDatumTypeDef
type DatumProvider = Callable[[datetime], list[Datum]]


def datum(name: str, value: float, unit: StandardUnitType, now: datetime,
          dims: Sequence[DimensionTypeDef] = ()) -> Datum:
    """One PutMetricData datum."""
    return {"MetricName": name, "Value": float(value), "Unit": unit, "Timestamp": now,
            "Dimensions": list(dims)}


class DatumSources:
    """Providers of datums beyond the publisher's own, asked once per interval."""

    def __init__(self) -> None:
        self._providers: list[DatumProvider] = []

    def add(self, provider: DatumProvider) -> None:
        self._providers.append(provider)

    def collect(self, now: datetime) -> list[Datum]:
        """Every provider's datums; a provider that fails costs only its own datums."""
        out: list[Datum] = []
        for provider in self._providers:
            try:
                out.extend(provider(now))
            except Exception:  # one broken provider must not stop the batch
                log.exception("cloudwatch.provider_failed")
        return out
