"""Data-quality monitoring of promoted models, called through MonitoringFunction (README "Monitoring").

- `setup`: at promotion, the retired champion's monitoring goes (`stop`), the baseline job is planned
  (`plan_baseline`) and, once it ran, the schedule and drift alarms are made (`start`);
- `window`: each scheduled run's window and analysis job inputs (`plan_window`);
- `results`: the run's metrics, violations event and notice (`publish`);
- `quality_window` / `quality_results`: the same run's model-quality job, when the model's
  `monitoring.quality` is enabled: its window, delayed by the labels' lookback (`plan_quality_window`), and its
  metrics, gate value, feedback rows and notice (`publish_quality`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from retrainer.errors import InvalidMonitoringRequest
from retrainer.services.monitoring.quality_results import PublishQuality, publish_quality
from retrainer.services.monitoring.quality_window import PlanQualityWindow, plan_quality_window
from retrainer.services.monitoring.results import PublishResults, publish
from retrainer.services.monitoring.setup import (
    PlanBaseline,
    StartMonitoring,
    StopMonitoring,
    plan_baseline,
    start,
    stop,
)
from retrainer.services.monitoring.window import PlanWindow, plan_window
from retrainer.services.monitoring.wiring import MonitoringAdapters, MonitoringStack

__all__ = ["ACTIONS", "MonitoringAdapters", "MonitoringStack", "handle", "parse_request"]

AnyMonitoringRequest = Annotated[
    StopMonitoring | PlanBaseline | StartMonitoring | PlanWindow | PublishResults | PlanQualityWindow | PublishQuality,
    Field(discriminator="action"),
]


class _Envelope(BaseModel):
    request: AnyMonitoringRequest


def parse_request(event: Any) -> BaseModel:
    """The state machines' payload; a malformed one is a named error (a bug in the ASL, not bad data)."""
    try:
        return _Envelope.model_validate({"request": event}).request
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'payload'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise InvalidMonitoringRequest(f"invalid monitoring request: {problems}") from exc


ACTIONS: dict[type[BaseModel], Callable[[Any, MonitoringStack, MonitoringAdapters], dict[str, Any]]] = {
    StopMonitoring: stop,
    PlanBaseline: plan_baseline,
    StartMonitoring: start,
    PlanWindow: plan_window,
    PublishResults: publish,
    PlanQualityWindow: plan_quality_window,
    PublishQuality: publish_quality,
}


def handle(request: BaseModel, stack: MonitoringStack, adapters: MonitoringAdapters) -> dict[str, Any]:
    return ACTIONS[type(request)](request, stack, adapters)
