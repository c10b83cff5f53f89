"""deploy/ and docs/export.md against what the exporter serves: the alert rules pass `promtool check
rules` and their unit tests (`promtool test rules`), every metric a rule or the dashboard selects is one
the exporter serves, the deployments use its port and health page, and the docs list every series."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cgscope.commands.export import DEFAULT_PORT
from cgscope.export.metrics import ALL_FAMILIES

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "cgscope-rules.yaml"
DASHBOARD = DEPLOY / "grafana" / "cgscope-containers.json"
METRIC = re.compile(r"\b((?:container|cgscope|machine)_[a-z0-9_]+)\b")
SERVED = {f.name for f in ALL_FAMILIES}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool not on PATH (Debian package prometheus; .ci/run installs it)")
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False, cwd=RULES.parent)


def test_promtool_checks_the_rules() -> None:
    done = promtool("check", "rules", RULES.name)
    assert done.returncode == 0 and "SUCCESS: 4 rules found" in done.stdout, done.stdout + done.stderr


def test_each_alert_fires_on_its_unit_test() -> None:
    done = promtool("test", "rules", "cgscope-rules-test.yaml")
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs.append(dashboard["templating"]["list"][1]["query"]["query"])
    return [*exprs, RULES.read_text()]


def test_rules_and_dashboard_select_only_served_metrics() -> None:
    used = {m for e in expressions() for m in METRIC.findall(e)}
    assert used and used <= SERVED, used - SERVED
    dashboard = DASHBOARD.read_text()
    assert {m for m in SERVED if m.startswith("cgscope_container_")} <= set(METRIC.findall(dashboard))


def test_deployments_use_the_port_and_the_health_page() -> None:
    daemonset = (DEPLOY / "kubernetes" / "cgscope-export.yaml").read_text()
    unit = (DEPLOY / "systemd" / "cgscope-export.service").read_text()
    assert f"0.0.0.0:{DEFAULT_PORT}" in daemonset and "path: /healthz" in daemonset
    assert "hostPID: true" in daemonset and "readOnly: true" in daemonset
    assert f"--listen 127.0.0.1:{DEFAULT_PORT}" in unit


def test_docs_list_every_series() -> None:
    docs = (ROOT / "docs" / "export.md").read_text()
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \| (?:counter|gauge|unknown|info) \|", docs, re.M))
    assert listed == SERVED, (SERVED - listed, listed - SERVED)
