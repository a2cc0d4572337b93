"""`sam deploy`'s first step: the SAM template read and transformed into CloudFormation by aws-sam-translator.

Local `CodeUri`/`ContentUri` folders become `s3://` URIs the translator accepts (it refuses local
paths); the folders themselves are returned so the stack can run each function from its folder. A
`DefinitionUri` file is inlined as the state machine's `Definition`. AWS-managed policies are not
loaded offline (the translator gets an empty policy map).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

CODE_BUCKET = "retrainer-offline-code"


def load_sam_template(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(path))))
    return loaded


def translate(
    template: dict[str, Any], root: Path, parameters: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Path]]:
    """SAM -> CloudFormation, and the local code folders by the S3 key that now names them."""
    code_dirs: dict[str, Path] = {}
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                folder = props[key].rstrip("/") + "/"
                code_dirs[folder] = (root / folder).resolve()
                props[key] = f"s3://{CODE_BUCKET}/{folder}"
        if isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((root / props.pop("DefinitionUri")).read_text())

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    translated: dict[str, Any] = transform(template, parameters, _NoManagedPolicies())
    return translated, code_dirs
