"""A job's folder and S3 (sagemaker-contracts.md §1): objects downloaded under a prefix, a folder uploaded.

Nothing is ever written outside the job's folder: an object key or a LocalPath that would land outside it
fails the job with a ClientError naming it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import boto3

from retrainer_offline.sagemaker.containers import JobFailed


def now() -> datetime:
    return datetime.now(UTC)


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_client() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def inside(root: Path, relative: str, what: str) -> Path:
    """`root / relative`, refused (ClientError naming `what`) unless it stays inside `root`.

    Object keys are data: `../`, absolute paths, `.` segments and NUL bytes never reach the filesystem
    outside the job's folder."""
    parts = PurePosixPath(relative).parts
    if not relative or "\x00" in relative or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise JobFailed(f"ClientError: {what} {relative!r} would be written outside the job's folder")
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise JobFailed(f"ClientError: {what} {relative!r} would be written outside the job's folder")
    return path


def listed_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def relative_key(key: str, prefix: str) -> str:
    return key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]


def download_prefix(s3: Any, uri: str, target: Path) -> list[str]:
    """S3Prefix: every object under the prefix, key minus prefix as the path (§1 download layout).

    Folder markers (keys ending in `/`) are skipped; a key that would land outside `target` fails the job."""
    bucket, prefix = split_uri(uri)
    keys = [key for key in listed_keys(s3, bucket, prefix) if not key.endswith("/")]
    target.mkdir(parents=True, exist_ok=True)
    paths = [
        (key, inside(target, relative_key(key, prefix), f"object key s3://{bucket}/{key} as path")) for key in keys
    ]
    for key, path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return keys


def upload_folder(s3: Any, folder: Path, uri: str) -> int:
    bucket, prefix = split_uri(uri)
    prefix = prefix.rstrip("/")
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}" if prefix else path.relative_to(folder).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        count += 1
    return count
