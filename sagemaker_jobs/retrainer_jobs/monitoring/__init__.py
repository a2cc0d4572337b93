"""Data-quality monitoring jobs in Amazon SageMaker Model Monitor's formats (numpy/pandas only).

- `suggest_baseline`: the baseline job (statistics.json, constraints.json from the training split);
- `analyze_window`: a monitoring run over one window of captured requests (+ constraint_violations.json, metrics);
- `kll_sketch`, `drift_distance`, `feature_statistics`, `constraint_checks`, `capture_records`,
  `cloudwatch_metrics`: the formats and computations they share; `bench`: the performance figures.
Entry point: `python3 <code>/monitoring/__main__.py baseline|analysis ...` (see __main__).
"""
