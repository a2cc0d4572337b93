"""CloudFormation imitated: template.yaml deployed (SAM transform, intrinsics, custom resources)."""
