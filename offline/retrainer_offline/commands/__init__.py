"""The `retrainer` command's subcommands that a user runs against a stack.

`serve` runs the offline runtime behind a local AWS endpoint; `runs`, `show`, `logs`, `follow` and
`notifications` read a stack through plain boto3 (no moto), so they work the same against `serve`
and against a stack deployed on AWS.
"""
