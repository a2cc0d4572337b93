"""The Breast Cancer Wisconsin (Diagnostic) data set as a user would upload it, from scikit-learn's copy.

`breast_cancer(parts)` shuffles the 569 rows (seed 7), keeps `HOLDOUT_ROWS` aside as a client's
requests (features only, as CSV rows, with their labels) and cuts the rest into `parts` header CSVs
(60% / 40% for two: the demo's first and second upload). `MODEL_CONFIG` is the model config those
uploads need (`config/<model>.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HOLDOUT_ROWS = 12
MODEL_CONFIG: dict[str, Any] = {"target_column": "diagnosis", "positive_label": "M", "drop_columns": ["id"]}


@dataclass
class Dataset:
    parts: list[bytes]
    holdout_features: list[str]
    holdout_labels: list[str]
    columns: list[str]


def breast_cancer(parts: int = 2, seed: int = 7) -> Dataset:
    """scikit-learn's copy of the UCI data set as the header CSV a user would upload."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.copy()
    # sklearn codes malignant as 0; the original file has an id and an M/B diagnosis column.
    frame.insert(0, "diagnosis", frame.pop("target").map({0: "M", 1: "B"}))
    frame.insert(0, "id", range(842302, 842302 + len(frame)))
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    frame = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    holdout, rest = frame.iloc[:HOLDOUT_ROWS], frame.iloc[HOLDOUT_ROWS:]
    first = int(len(rest) * 0.6)
    chunks = [rest.iloc[:first], rest.iloc[first:]] if parts == 2 else [rest]
    features = holdout.drop(columns=["id", "diagnosis"])
    return Dataset(
        parts=[chunk.to_csv(index=False).encode() for chunk in chunks],
        holdout_features=[",".join(f"{v:.6g}" for v in row) for row in features.itertuples(index=False)],
        holdout_labels=list(holdout["diagnosis"]),
        columns=list(frame.columns),
    )
