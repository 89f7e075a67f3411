"""docs/prometheus-alerts.yml: valid YAML in Prometheus' rule-file shape, every expression valid
PromQL (promql-parser, the Rust parser's bindings: promtool is not installable from PyPI), and
every metric it names is one this office exports (a renamed metric would silence an alert)."""

from __future__ import annotations

from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db

RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus-alerts.yml"


def exported_names(api) -> set[str]:
    api.get("/healthz")  # so the request histogram has samples
    text = api.get("/metrics").content.decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


def selectors(expr: promql_parser.Expr) -> set[str]:
    found: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.add(node.name)
        return True

    promql_parser.walk(expr, visit)
    return found


def test_alert_rules_parse_and_name_only_exported_metrics(api):
    document = yaml.safe_load(RULES.read_text())
    exported = exported_names(api)
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert {"TangguhBacklogNotDraining", "TangguhUpstreamDownLong",
            "TangguhOldestPendingTooOld"} <= {r["alert"] for r in rules}
    for group in document["groups"]:
        assert group["name"] and group["rules"]
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        expr = promql_parser.parse(rule["expr"])  # raises on invalid PromQL
        names = selectors(expr)
        assert names, rule["alert"]
        assert names <= exported, (rule["alert"], names - exported)
        promql_parser.parse_duration(rule["for"])
        assert rule["labels"]["severity"] in {"page", "warn"}
        assert rule["annotations"]["summary"]


def test_the_parser_used_here_does_catch_mistakes():
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(tangguh_deliveries_total[5m])")
    assert selectors(promql_parser.parse(
        'max by (upstream) (tangguh_upstream_breaker_state{state="open"}) == 1'
    )) == {"tangguh_upstream_breaker_state"}
