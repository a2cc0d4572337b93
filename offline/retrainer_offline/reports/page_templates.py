"""The two pages' HTML (jinja2, autoescaped): self-contained files, plots inlined as PNG data URIs."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.violation { background: #f8d7da; color: #842029; font-weight: bold; }
td.ok { background: #eef7ee; }
.muted { color: #777; } .problems { background: #fff3cd; padding: 0.5em 1em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; }
"""

BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title><style>{{ style|safe }}</style></head>
<body><h1>{{ title }}</h1>{% block body %}{% endblock %}</body></html>
"""

MONITORING = """{% extends "base.html" %}{% block body %}
{% for run in runs %}
<section class="run">
<h2>Schedule {{ run.schedule }}, hour {{ run.hour }}</h2>
<p>{{ run.rows }} rows in the window; baseline version {{ baseline_version }}; drift measured as {{ method }}.
{% if run.violations %}<strong>{{ run.violations|length }} violation(s).</strong>{% else %}No violations.{% endif %}</p>
<table class="violations-table">
<tr><th>Feature</th>{% for column in columns %}<th>{{ column }}</th>{% endfor %}</tr>
{% for row in run.table %}<tr><td>{{ row.feature }}</td>
{% for cell in row.cells %}<td class="{{ cell.css }}"{% if cell.note %} title="{{ cell.note }}"{% endif %}>
{{- cell.text }}</td>{% endfor %}
</tr>{% endfor %}
</table>
{% if run.violations %}
<h3>Violations (constraint_violations.json)</h3>
<table class="violation-list"><tr><th>Feature</th><th>Check</th><th>Description</th></tr>
{% for v in run.violations %}<tr><td>{{ v.feature_name }}</td><td>{{ v.check }}</td><td>{{ v.description }}</td></tr>
{% endfor %}</table>
{% endif %}
<h3>Distributions: window against baseline</h3>
<div class="figures">
{% for plot in run.plots %}<figure>
<img class="distribution" alt="distribution of {{ plot.feature }}" src="{{ plot.uri }}">
<figcaption>{{ plot.feature }}</figcaption></figure>
{% endfor %}</div>
</section>
{% else %}<p class="muted">No monitoring run has written a report for {{ model }} yet.</p>{% endfor %}
{% endblock %}"""

HISTORY = """{% extends "base.html" %}{% block body %}
{% if problems %}
<div class="problems"><p><strong>Files skipped:</strong></p><ul>
{% for problem in problems %}<li>{{ problem }}</li>{% endfor %}
</ul></div>
{% endif %}
<h2>Champion against challenger, run by run</h2>
{% if evaluations %}
<img class="history" alt="gate metric per run" src="{{ gate_chart }}">
<table class="evaluations"><tr><th>Run</th><th>Evaluated</th><th>Metric</th><th>Challenger</th><th>Champion</th>
<th>Gain</th><th>Gate</th>
{% for m in metric_names %}<th>{{ m }} (challenger / champion)</th>{% endfor %}<th>Verdict</th></tr>
{% for e in evaluations %}<tr><td>{{ e.run_id }}</td><td>{{ e.time }}</td><td>{{ e.metric }}</td><td>{{ e.value }}</td>
<td>{{ e.champion_value }}</td><td>{{ e.gain }}</td>
<td class="{{ 'ok' if e.passed else 'violation' }}">{{ 'passed' if e.passed else 'failed' }}</td>
{% for m in metric_names %}<td>{{ e.metrics.get(m, '') }} / {{ e.champion_metrics.get(m, '-') }}</td>{% endfor %}
<td>{{ e.verdict }}</td></tr>
{% endfor %}</table>
{% else %}<p class="muted">No evaluation report under runs/{{ model }}/ yet.</p>{% endif %}

<h2>Canary weights over time</h2>
{% if weights %}
<img class="history" alt="canary weights over time" src="{{ weights_chart }}">
<table class="weights"><tr><th>Time</th><th>Run</th><th>Traffic shares</th></tr>
{% for w in weights %}<tr><td>{{ w.time }}</td><td>{{ w.run_id }}</td><td>{{ w.shares }}</td></tr>{% endfor %}
</table>
{% else %}
<p class="muted">No rollout recorded (executions' histories were not read, or no run rolled out).</p>{% endif %}

<h2>Drift and model quality over time</h2>
{% if drift_chart %}<img class="history" alt="drift per feature over time" src="{{ drift_chart }}">
{% elif quality_chart %}<img class="history" alt="{{ quality_chart_alt }}" src="{{ quality_chart }}">
{% endif %}
<h3>Drift per feature (data-quality runs)</h3>
{% if drift_rows %}
<table class="drift"><tr><th>Hour</th><th>Schedule</th>{% for f in drift_features %}<th>{{ f }}</th>{% endfor %}</tr>
{% for row in drift_rows %}<tr><td>{{ row.hour }}</td><td>{{ row.schedule }}</td>
{% for cell in row.cells %}<td class="{{ cell.css }}">{{ cell.text }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% else %}<p class="muted">No monitoring run under monitoring/{{ model }}/ yet.</p>{% endif %}

<h3>Model quality against ground truth (model-quality runs)</h3>
{% if not quality_judged %}
<p class="muted no-labels">No labelled traffic yet: upload ground truth to {{ ground_truth_uri }}
(one JSON line per request: groundTruthData, eventMetadata.eventId = the request's InferenceId).</p>
{% endif %}
{% if quality_rows %}
<table class="quality"><tr><th>Window end</th><th>Version (schedule)</th><th>Labelled / captured</th>
<th>Missing labels</th>{% for m in quality_metrics %}<th>{{ m }}</th>{% endfor %}<th>Alarm bound</th>
<th>Violations</th></tr>
{% for row in quality_rows %}<tr><td>{{ row.time }}</td><td>{{ row.schedule }}</td><td>{{ row.labelled }}</td>
<td>{{ row.missing }}</td>
{% for cell in row.cells %}<td class="{{ cell.css }}"{% if cell.note %} title="{{ cell.note }}"{% endif %}>
{{- cell.text }}</td>{% endfor %}
<td>{{ row.bound }}</td><td class="{{ row.outcome.css }}">{{ row.outcome.text }}</td></tr>
{% endfor %}</table>
<p class="muted">Values ± their standard deviation over five 80% samples (none under 200 labelled rows); NaN: one
class in the window's labels. Hover a cell for why.</p>
{% endif %}
{% endblock %}"""

ENVIRONMENT = Environment(
    loader=DictLoader({"base.html": BASE, "monitoring.html": MONITORING, "history.html": HISTORY}),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **context: object) -> str:
    return ENVIRONMENT.get_template(template).render(style=STYLE, **context)
