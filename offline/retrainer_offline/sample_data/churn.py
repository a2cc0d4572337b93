"""A synthetic churn-like dataset, and a corpus of malformed CSVs, for tests and the demo.

Nothing is downloaded: `table(rows, seed, drift)` draws a telecom-churn-like table with the kinds
of columns real uploads have:

- `customer_id` (unique text id: put it in `id_column` or `drop_columns`);
- `tenure_months`, `monthly_charges` (numeric; `monthly_charges` has blank and `NA` cells);
- `contract` (categorical), `payment_method` (categorical with a rare `cheque` category);
- `paperless_billing` (Yes/No boolean), `senior` (True/False boolean);
- `churned` (Yes/No target, about a quarter Yes; learnable from contract, tenure and charges).

`drift` (0..1) shifts the population: shorter tenures, higher charges, more month-to-month
contracts. `new_category` adds a payment method the first model never saw. `shifted_concept(frame)`
redraws the target of a table after the world changed under unchanged inputs (concept drift: a
competitor's online offer lures long-standing paperless customers away), which only ground truth shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TARGET = "churned"
ID_COLUMN = "customer_id"
CONTRACTS = ("month-to-month", "one-year", "two-year")
PAYMENTS = ("card", "bank-transfer", "electronic-check", "cheque")
MODEL = "churn"
MODEL_CONFIG = {"target_column": TARGET, "positive_label": "Yes", "id_column": ID_COLUMN}


def table(
    rows: int = 1000,
    seed: int = 7,
    drift: float = 0.0,
    new_category: str | None = None,
    missing_share: float = 0.03,
    id_start: int = 0,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    contract_weights = np.array([0.5 + 0.3 * drift, 0.3 - 0.15 * drift, 0.2 - 0.15 * drift])
    contract = rng.choice(CONTRACTS, size=rows, p=contract_weights / contract_weights.sum())
    payment_weights = [0.35, 0.3, 0.31, 0.04]
    payment = rng.choice(PAYMENTS, size=rows, p=payment_weights).astype(object)
    if new_category is not None:
        payment[rng.random(rows) < 0.1] = new_category
    tenure = np.clip(rng.gamma(2.0, 14.0 * (1 - 0.5 * drift), size=rows).round(), 0, 72).astype(int)
    charges = (rng.normal(65 + 15 * drift, 20, size=rows)).clip(18, 120).round(2)
    paperless = rng.random(rows) < 0.6
    senior = rng.random(rows) < 0.16
    columns = {
        "tenure_months": tenure,
        "contract": contract,
        "payment_method": payment,
        "paperless_billing": np.where(paperless, "Yes", "No"),
        "senior": np.where(senior, "True", "False"),
    }
    logit = churn_logit(pd.DataFrame({**columns, "monthly_charges": charges}))
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    charges_text = np.array([f"{c:.2f}" for c in charges], dtype=object)
    blanks = rng.random(rows) < missing_share
    charges_text[blanks] = np.where(rng.random(int(blanks.sum())) < 0.5, "", "NA")
    return pd.DataFrame(
        {
            ID_COLUMN: [f"C{id_start + i:06d}" for i in range(rows)],
            "tenure_months": tenure,
            "monthly_charges": charges_text,
            **{name: values for name, values in columns.items() if name != "tenure_months"},
            TARGET: np.where(churned, "Yes", "No"),
        }
    )


# How strongly the shifted concept pulls long-standing paperless customers towards churn (log-odds).
COMPETITOR_PULL = 2.5
COMPETITOR_TENURE_MONTHS = 24


def churn_logit(frame: pd.DataFrame, competitor_pull: float = 0.0) -> np.ndarray:
    """The log-odds `table` draws `churned` from, from a table's columns (blank charges at the mean);
    `competitor_pull` adds the shifted concept of `shifted_concept`."""
    tenure = frame["tenure_months"].to_numpy(dtype=float)
    charges = pd.to_numeric(frame["monthly_charges"], errors="coerce").fillna(65.0).to_numpy()
    contract = frame["contract"].to_numpy()
    paperless = (frame["paperless_billing"] == "Yes").to_numpy()
    logit = (
        -1.6
        + 1.6 * (contract == "month-to-month")
        - 0.9 * (contract == "two-year")
        - 0.035 * tenure
        + 0.025 * (charges - 65)
        + 0.5 * (frame["payment_method"] == "electronic-check").to_numpy()
        + 0.3 * paperless
        + 0.3 * (frame["senior"] == "True").to_numpy()
    )
    return np.asarray(logit + competitor_pull * paperless * (tenure >= COMPETITOR_TENURE_MONTHS))


def shifted_concept(frame: pd.DataFrame, seed: int, competitor_pull: float = COMPETITOR_PULL) -> pd.DataFrame:
    """The same rows (inputs unchanged: no data drift to see) with `churned` redrawn after the concept moved."""
    rng = np.random.default_rng(seed)
    churned = rng.random(len(frame)) < 1 / (1 + np.exp(-churn_logit(frame, competitor_pull)))
    return frame.assign(**{TARGET: np.where(churned, "Yes", "No")})


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def bad_csvs(rows: int = 200, seed: int = 11) -> dict[str, bytes]:
    """Malformed uploads, each with one problem Preprocess must name (tests assert the messages)."""
    good = table(rows, seed=seed)

    def text(frame: pd.DataFrame) -> bytes:
        return frame.to_csv(index=False).encode()

    def edited(column: str, positions: list[int], value: str) -> bytes:
        frame = good.copy()
        frame[column] = frame[column].astype(object)
        frame.loc[positions, column] = value
        return text(frame)

    leak = good.assign(churn_flag=good[TARGET].map({"Yes": "1", "No": "0"}))
    duplicated = text(good).replace(b"senior,", b"tenure_months,", 1)
    return {
        "empty.csv": b"",
        "header-only.csv": text(good.head(0)),
        "latin-1.csv": "name,churned\nJos\u00e9,Yes\n".encode("latin-1"),
        "ragged.csv": text(good).replace(b"\n", b",extra\n", 3),
        "duplicate-column.csv": duplicated,
        "text-in-numeric.csv": edited("tenure_months", list(range(0, rows, 20)), "unknown"),
        "mostly-missing.csv": edited("monthly_charges", list(range(0, int(rows * 0.8))), "?"),
        "label-leak.csv": text(leak),
        "id-as-feature.csv": text(good),  # customer_id not dropped: 200 distinct text values
        "blank-target.csv": edited(TARGET, [5, 9], ""),
        "three-classes.csv": edited(TARGET, [3], "Maybe"),
        "one-class.csv": text(good.assign(churned="No")),
    }
