"""The shipped Prometheus files are valid and the alert rules behave as documented.

Runs the real ``promtool`` (Debian package ``prometheus``): ``check rules``,
``check config`` and the rule unit tests in observability/prometheus/tests/.
"""

from __future__ import annotations

import shutil
import subprocess

from tests.support import ROOT, require_tool

PROM = ROOT / "observability" / "prometheus"


def _promtool(*args: str, cwd=PROM) -> subprocess.CompletedProcess:
    return subprocess.run([require_tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_rules_pass_promtool_check():
    r = _promtool("check", "rules", "rules/skitai.rules.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 9 rules found" in r.stdout


def test_scrape_config_is_valid():
    r = _promtool("check", "config", "prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr


def test_rule_unit_tests_pass():
    r = _promtool("test", "rules", "tests/skitai.rules.test.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_rule_unit_tests_catch_a_wrong_threshold(tmp_path):
    """The unit tests are able to fail: loosen the error-ratio threshold and they must."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    text = (PROM / "rules" / "skitai.rules.yml").read_text()
    assert "skitai:request_errors:ratio5m > 0.05" in text
    (tmp_path / "rules" / "skitai.rules.yml").write_text(text.replace("ratio5m > 0.05", "ratio5m > 0.5"))
    shutil.copy(PROM / "tests" / "skitai.rules.test.yml", tmp_path / "tests")
    r = _promtool("test", "rules", "tests/skitai.rules.test.yml", cwd=tmp_path)
    assert r.returncode != 0
    assert "SkitaiHighErrorRatio" in r.stdout + r.stderr


def test_alert_rules_use_the_engine_metric_names():
    """Names in the rules are the ones skitai.observability.metrics defines."""
    from skitai.observability import metrics

    text = (PROM / "rules" / "skitai.rules.yml").read_text()
    src = (ROOT / "skitai" / "observability" / "metrics.py").read_text()
    for name in ("skitai_requests", "skitai_request_duration_seconds", "skitai_worker_restarts",
                 "skitai_worker_ready"):
        assert f'"{name}"' in src
        assert name in text
    assert set(metrics.RESTART_REASONS) >= {"critical_point", "crash"}
