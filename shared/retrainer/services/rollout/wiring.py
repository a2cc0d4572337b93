"""What every rollout action receives: its adapters, and the fields every request carries."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from retrainer.ports import Endpoints, ModelRegistry, VariantAlarms, VariantScaling

# Endpoint statuses during which SageMaker is still changing the endpoint.
IN_PROGRESS = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}


@dataclass(frozen=True)
class RolloutAdapters:
    endpoints: Endpoints
    registry: ModelRegistry
    alarms: VariantAlarms
    scaling: VariantScaling


class RolloutRequest(BaseModel):
    """A ManageRolloutFunction payload: `action` names it; the run's ids travel for the logs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str = ""
    correlation_id: str = ""
