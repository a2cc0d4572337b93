"""Reports people look at (issue 14): the monitoring page and the model history page, from the JSON in S3.

Client-side only, never deployed. `write_reports.write_reports` loads a model's files through boto3 clients (an S3
client for the artifacts bucket, optionally a Step Functions client for the canary weights) and writes two
self-contained HTML pages; `monitoring_page.render_monitoring_page` and `history_page.render_history_page` draw from
already loaded `report_data.ReportData`, so they need no AWS at all. Plots need matplotlib (imported by `charts`
only, so the loaders work without it).
"""
