"""What an endpoint serves (sagemaker-contracts.md §5-§6): fleets of production variants, and routing between them.

A fleet is the variants of the config an endpoint was deployed with, with their models' containers and
current weights, captured when the config is applied: it does not read the config or the models again.
A request goes to `TargetVariant` if it names one, else to a variant chosen by weight (share = weight /
sum of weights) in the fleet chosen by the blue/green traffic share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from retrainer_offline.sagemaker.sklearn_container import model_containers


@dataclass(frozen=True)
class Variant:
    """One production variant as a fleet runs it."""

    name: str
    weight: float
    model_name: str
    instance_type: str
    instance_count: int
    container: dict[str, Any] | None  # None: the model did not exist when the fleet was deployed
    containers: tuple[dict[str, Any], ...] = ()  # every container, in order (a serial inference pipeline)


@dataclass(frozen=True)
class Fleet:
    config_name: str
    variants: tuple[Variant, ...]
    data_capture: dict[str, Any] = field(default_factory=dict)

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    @property
    def instances(self) -> int:
        return sum(v.instance_count for v in self.variants)


@dataclass(frozen=True)
class Serving:
    """What an endpoint serves: blue, and during a blue/green deployment green with its traffic share."""

    blue: Fleet
    green: Fleet | None = None
    green_share: float = 0.0


def route(serving: Serving, target: str | None, rng: random.Random) -> tuple[Fleet, Variant] | None:
    """The fleet and variant that answer one request: `TargetVariant` if named, else by traffic share and weight."""
    fleets = [serving.blue] if serving.green is None else [serving.green, serving.blue]
    if target:
        if serving.green is not None and serving.green_share < 1.0:
            fleets.reverse()  # blue still takes traffic: a name both fleets have goes to blue
        return next(((f, v) for f in fleets for v in f.variants if v.name == target), None)
    fleet = serving.blue
    if serving.green is not None and rng.random() < serving.green_share:
        fleet = serving.green
    weights = [v.weight for v in fleet.variants]
    if sum(weights) <= 0:
        return fleet, fleet.variants[0]
    return fleet, rng.choices(fleet.variants, weights=weights)[0]


def fleet_key(backend: Any, name: str) -> tuple[str, str, str]:
    return backend.account_id, backend.region_name, name


def endpoint_arn(backend: Any, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:endpoint/{name.lower()}"


def deployed_fleet(backend: Any, endpoint: Any, config: Any = None) -> Fleet:
    """The fleet a config deploys: its variants with their models' containers as they are now."""
    if config is None:
        config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    if config is None:  # config deleted before this runtime saw the endpoint: serve what DescribeEndpoint shows
        return Fleet(
            endpoint.endpoint_config_name,
            tuple(
                Variant(v["VariantName"], float(v.get("CurrentWeight") or 1.0), "", "", 1, None)
                for v in endpoint.production_variants
            ),
            endpoint.data_capture_config or {},
        )
    variants = []
    for spec in config.production_variants:
        model = backend._models.get(spec.get("ModelName", ""))
        container = None
        containers: tuple[dict[str, Any], ...] = ()
        if model is not None:
            containers = tuple(model_containers(model))
            container = dict(containers[0]) if containers else {}
        weight = spec.get("InitialVariantWeight")
        variants.append(
            Variant(
                name=spec["VariantName"],
                weight=1.0 if weight is None else float(weight),
                model_name=spec.get("ModelName", ""),
                instance_type=spec.get("InstanceType", ""),
                instance_count=int(spec.get("InitialInstanceCount") or 1),
                container=container,
                containers=containers,
            )
        )
    return Fleet(config.endpoint_config_name, tuple(variants), dict(config.data_capture_config or {}))


def described_variants(fleet: Fleet) -> list[dict[str, Any]]:
    return [
        {
            "VariantName": v.name,
            "CurrentWeight": v.weight,
            "DesiredWeight": v.weight,
            "CurrentInstanceCount": v.instance_count,
            "DesiredInstanceCount": v.instance_count,
        }
        for v in fleet.variants
    ]
