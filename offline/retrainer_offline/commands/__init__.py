"""The `retrainer` command's subcommands, and the runs made on the offline runtime.

`serve` runs the offline runtime behind a local AWS endpoint; `runs`, `show`, `logs`, `follow` and
`notifications` read a stack through plain boto3 (no moto), so they work the same against `serve`
and against a stack deployed on AWS. `demo` (four retrainings with live traffic), `bench` and
`scale_bench` (performance figures) and `stress` (the demo on a loaded machine,
`python -m retrainer_offline.commands.stress`) run the offline runtime in-process.
"""
