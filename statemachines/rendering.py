"""The render command both state machines share: `--output FILE` writes the ASL, `--check FILE` fails when
the committed file differs from a fresh render (the Makefile's `render` and `check-render`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from stepfunctions.steps.states import Graph


def render(build: Callable[[], Graph]) -> str:
    return json.dumps(json.loads(build().to_json()), indent=2, sort_keys=False) + "\n"


def main(build: Callable[[], Graph], description: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--output", type=Path, help="write the ASL here")
    mode.add_argument("--check", type=Path, help="fail if this file differs from a fresh render")
    args = parser.parse_args(argv)
    text = render(build)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
        return 0
    current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if current != text:
        print(f"{args.check} is stale: run `make render` and commit the result", file=sys.stderr)
        return 1
    print(f"{args.check} is current")
    return 0
