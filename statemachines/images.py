"""The SageMaker images per region, from `sagemaker.image_uris` (no hard-coded accounts by hand).

`python -m statemachines.images` prints the `SageMakerImages` Mapping for template.yaml; a unit
test fails when the template's mapping differs from what the installed sagemaker SDK resolves.
"""

from __future__ import annotations

import logging

REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
)
XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1"


def image_mapping() -> dict[str, dict[str, str]]:
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    from sagemaker import image_uris

    return {
        region: {
            "XGBoost": image_uris.retrieve("xgboost", region, XGBOOST_VERSION),
            "Sklearn": image_uris.retrieve(
                "sklearn", region, SKLEARN_VERSION, py_version="py3", instance_type="ml.m5.xlarge"
            ),
            # monitoring.engine model_monitor (README "Monitoring"); the default engine runs in the Sklearn image.
            "ModelMonitor": image_uris.retrieve("model-monitor", region),
        }
        for region in REGIONS
    }


if __name__ == "__main__":
    print("  SageMakerImages:")
    for region, images in image_mapping().items():
        print(f"    {region}:")
        for name, uri in images.items():
            print(f"      {name}: {uri}")
