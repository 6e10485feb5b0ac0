"""The suite's own promises (issue 35, items 13 and 14): a test that needs a tool the
machine lacks is skipped, never an error, and every test has a time limit."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO


def test_redis_tests_skip_where_redis_server_is_missing(tmp_path) -> None:
    """test_executors' queue tests take the ``redis_url`` fixture: with no redis-server on
    PATH they are skipped like test_queue's, not errors."""
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty folder: no redis-server
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_executors.py", "tests/test_queue.py",
         "-k", "three_executors or another_show or changed_script or old_error or workers",
         "-q", "-p", "no:cacheprovider", "-o", "addopts="],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-2000:]
    assert re.fullmatch(r"[4-9] skipped, \d+ deselected in .*", summary), summary


def test_every_test_has_a_time_limit(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.hasplugin("timeout")
    assert float(pytestconfig.getini("timeout")) >= 600  # generous: a busy machine is slow
