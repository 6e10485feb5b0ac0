"""duopod deploy against hostile gateways, odd lock objects and odd file names (issue 35,
items 3, 7, 8 and 11): against the real S3 server (SeaweedFS, ``s3_server``), a gateway in
front of it that refuses or dies (``s3_server.Gate``), one that never answers, and folders.
Each case was a traceback, a hang, an eternal lock or a surprise deletion before."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import s3_server
from conftest import run_cli
from test_deploy import add_target, fake_site

from duopod.deploy import DeployBusy, DeployEvent, DeployFailed, deploy_show
from duopod.deploy import store as store_module
from duopod.deploy.store import LOCK_KEY, Lease
from duopod.errors import InputError
from duopod.show.workspace import load_workspace

BUCKET = s3_server.BUCKET


def keys(endpoint: str, prefix: str) -> set[str]:
    client = s3_server.client(endpoint)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/").get("Contents", [])
    return {item["Key"][len(prefix) + 1:] for item in listed}


def s3_show(show: Path, endpoint: str, site: dict[str, bytes] | None = None) -> str:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    add_target(show, "cdn", f"s3://{BUCKET}/{prefix}", endpoint_url=endpoint,
               region="us-east-1")
    fake_site(show, site or {"one": b"1" * 10, "two": b"2" * 10})
    return prefix


def one_line(stderr: str) -> bool:
    return stderr.strip().count("\n") == 0 and "Traceback" not in stderr


# ---------------------------------------------------------------- item 3: lock objects

ODD_LEASES = [b'{"expires": "soon"}', b"[1, 2]", b"null", b'{"since": "yesterday"}',
              b'{"expires": 1e999}', b'{"expires": 1e300, "pid": -4, "host": 7}',
              b'{"pid": "x", "since": NaN}', b"\xff\xfe", b"[" * 100_000, b""]


@pytest.mark.parametrize("data", ODD_LEASES)
def test_a_lease_of_any_shape_reads_as_unknown_fields(data: bytes) -> None:
    lease = Lease.read(data, "s3://b/p")
    assert lease.expires is None and lease.since is None and lease.pid is None
    assert lease.describe() == "a lock of unknown origin" or "pid ?" in lease.describe()
    assert lease.alive_here()  # an unknown holder is never taken for a dead one


def test_a_lease_with_good_fields_keeps_them() -> None:
    lease = Lease.read(json.dumps({"owner": "o", "host": "h\x1b[31m", "pid": 42,
                                   "since": 0, "expires": 1e9}).encode(), "s3://b/p")
    assert (lease.pid, lease.since, lease.expires) == (42, 0.0, 1e9)
    assert lease.describe() == "pid 42 on h?[31m since 1970-01-01 00:00:00 UTC"


@pytest.mark.slow
@pytest.mark.parametrize("data", ODD_LEASES[:6])
def test_a_fresh_odd_lease_is_busy_in_one_line(show: Path, s3_endpoint: str,
                                               credentials: None, data: bytes) -> None:
    prefix = s3_show(show, s3_endpoint)
    s3_server.client(s3_endpoint).put_object(Bucket=BUCKET, Key=f"{prefix}/{LOCK_KEY}",
                                             Body=data)
    done = run_cli(show, "deploy")
    assert done.returncode == 1 and one_line(done.stderr), done.stderr
    assert "another deploy" in done.stderr
    assert "feed.xml" not in keys(s3_endpoint, prefix)


@pytest.mark.slow
def test_an_eternal_lease_lapses_by_the_gateways_clock(show: Path, s3_endpoint: str,
                                                       credentials: None,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    prefix = s3_show(show, s3_endpoint)
    lease = {"owner": "x", "host": "another-machine", "pid": 1, "since": time.time(),
             "expires": 1e300}
    body = json.dumps(lease).replace("1e+300", "1e999").encode()
    s3_server.client(s3_endpoint).put_object(Bucket=BUCKET, Key=f"{prefix}/{LOCK_KEY}",
                                             Body=body)
    ws = load_workspace(show)
    with pytest.raises(DeployBusy):
        deploy_show(ws, None)
    monkeypatch.setattr(store_module, "LEASE_SECONDS", 2.0)
    report = None
    for _attempt in range(60):  # until the gateway's clock says the lease is 2 s old
        try:
            report = deploy_show(ws, None)
            break
        except DeployBusy:
            time.sleep(0.5)
    assert report is not None and report.uploaded[-1] == "feed.xml"
    assert LOCK_KEY not in keys(s3_endpoint, prefix)


# ---------------------------------------------------------------- item 3: gateways


@pytest.fixture
def gate(s3_endpoint: str) -> Iterator[s3_server.Gate]:
    opened = s3_server.Gate(s3_endpoint).open()
    yield opened
    opened.stop()


@pytest.mark.slow
def test_an_unreachable_endpoint_is_one_line(show: Path, credentials: None) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    add_target(show, "cdn", f"s3://{BUCKET}/x", endpoint_url=f"http://127.0.0.1:{port}",
               region="us-east-1")
    fake_site(show, {"one": b"1"})
    done = run_cli(show, "deploy")
    assert done.returncode == 1 and one_line(done.stderr), done.stderr
    assert "Could not connect to the endpoint URL" in done.stderr


@pytest.mark.slow
def test_a_password_in_the_environments_endpoint_never_prints(show: Path, credentials: None
                                                               ) -> None:
    add_target(show, "cdn", f"s3://{BUCKET}/x", region="us-east-1")
    fake_site(show, {"one": b"1"})
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://pod:hunter2secret@127.0.0.1:9"}
    done = run_cli(show, "deploy", env=env)
    assert done.returncode == 1 and one_line(done.stderr), done.stderr
    assert "hunter2secret" not in done.stderr + done.stdout


def test_a_password_in_endpoint_url_is_refused(show: Path) -> None:
    add_target(show, "cdn", f"s3://{BUCKET}/x",
               endpoint_url="https://pod:hunter2secret@s3.example.com")
    fake_site(show, {"one": b"1"})
    with pytest.raises(InputError, match="endpoint_url' must not hold a user name"):
        deploy_show(load_workspace(show), None)
    done = run_cli(show, "deploy")
    assert done.returncode == 2 and "hunter2secret" not in done.stderr


@pytest.mark.slow
def test_a_gateway_that_never_answers_meets_the_deadline(show: Path, credentials: None
                                                         ) -> None:
    with socket.socket() as silent:  # the kernel accepts connections; nobody answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        add_target(show, "cdn", f"s3://{BUCKET}/x", endpoint_url=f"http://127.0.0.1:{port}",
                   region="us-east-1")
        fake_site(show, {"one": b"1"})
        with pytest.raises(DeployFailed, match=r"the deploy lock: no answer from the gateway "
                                               r"within [0-9]+ s"):
            deploy_show(load_workspace(show), None, deadline=2.0)
        done = run_cli(show, "deploy", "--deadline", "2")
    assert done.returncode == 1 and one_line(done.stderr), done.stderr
    assert "no answer from the gateway within" in done.stderr


@pytest.mark.slow
def test_a_refused_upload_is_the_error_and_the_lease_is_removed(
        show: Path, gate: s3_server.Gate, s3_endpoint: str, credentials: None) -> None:
    prefix = s3_show(show, gate.url)
    gate.refuse["two/two.mp3"] = "AccessDenied"
    with pytest.raises(DeployFailed) as failed:
        deploy_show(load_workspace(show), None)
    assert str(failed.value) == (f"S3 refused writing two/two.mp3 in bucket '{BUCKET}': "
                                 "AccessDenied")
    assert LOCK_KEY not in keys(s3_endpoint, prefix)  # released: the gateway answers
    assert "feed.xml" not in keys(s3_endpoint, prefix)


@pytest.mark.slow
def test_when_the_gateway_dies_the_upload_error_comes_first(
        show: Path, gate: s3_server.Gate, s3_endpoint: str, credentials: None) -> None:
    prefix = s3_show(show, gate.url)
    puts: list[str] = []

    def die_on_the_second_put(event: DeployEvent) -> None:
        if event.kind == "put":
            puts.append(event.key)
            if len(puts) == 2:
                gate.close()

    with pytest.raises(DeployFailed) as failed:
        deploy_show(load_workspace(show), None, on_event=die_on_the_second_put)
    message = str(failed.value)
    assert message.startswith(f"S3 writing {puts[1]} failed: Could not connect"), message
    assert "(and the deploy lock could not be released: " in message
    assert "it lapses within 5 minutes)" in message and "\n" not in message
    assert LOCK_KEY in keys(s3_endpoint, prefix)  # the gateway was gone: left to lapse
    gate.open()  # back, on the same port
    with pytest.raises(DeployBusy, match=f"pid {os.getpid()}"):
        deploy_show(load_workspace(show), None)


@pytest.mark.slow
def test_a_deadline_passed_midway_still_removes_the_lease(
        show: Path, s3_endpoint: str, credentials: None) -> None:
    prefix = s3_show(show, s3_endpoint)
    ws = load_workspace(show)
    started: list[float] = []

    def slow(event: DeployEvent) -> None:  # the deploy's clock runs out at the first put
        if event.kind == "put" and not started:
            started.append(time.monotonic())
            time.sleep(9.0)

    with pytest.raises(DeployFailed, match="ran past its deadline of 8 s"):
        deploy_show(ws, None, deadline=8.0, on_event=slow)
    assert started  # the lock, the listing and the manifest came first, within the deadline
    assert LOCK_KEY not in keys(s3_endpoint, prefix)
    assert "feed.xml" not in keys(s3_endpoint, prefix)
    assert deploy_show(ws, None).uploaded[-1] == "feed.xml"  # the next one finishes


# ---------------------------------------------------------------- items 3 and 8: names


@pytest.mark.slow
def test_a_name_that_is_not_utf8_is_refused_in_one_line_before_anything_is_sent(
        show: Path, s3_endpoint: str, credentials: None, tmp_path: Path) -> None:
    prefix = s3_show(show, s3_endpoint)
    (show / "episodes").joinpath(os.fsdecode(b"bad-\xff.mp3")).write_bytes(b"x")
    done = run_cli(show, "deploy")
    assert done.returncode == 2 and one_line(done.stderr), done.stderr
    assert "bad-\\xff.mp3: the file's name is not UTF-8" in done.stderr
    assert keys(s3_endpoint, prefix) == set()
    add_target(show, "www", (tmp_path / "www").as_uri())
    assert run_cli(show, "deploy", "www").returncode == 2
    assert not (tmp_path / "www").exists()


def test_terminal_escapes_in_a_name_are_shown_not_obeyed(show: Path, tmp_path: Path) -> None:
    add_target(show, "www", (tmp_path / "www").as_uri())
    fake_site(show, {"one": b"1"})
    (show / "episodes" / "x\x1b]0;pwned\x07\x1b[2J.mp3").write_bytes(b"x")
    done = run_cli(show, "deploy")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "x\\x1b]0;pwned\\x07\\x1b[2J.mp3" in done.stdout
    assert (tmp_path / "www" / "x\x1b]0;pwned\x07\x1b[2J.mp3").is_file()  # sent as named


# ---------------------------------------------------------------- item 11: prune


def test_prune_refuses_objects_no_deploy_of_this_show_wrote(show: Path, tmp_path: Path
                                                           ) -> None:
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    (www / "other-show").mkdir(parents=True)  # a sibling show deployed to the same root
    (www / "other-show" / "feed.xml").write_text("<rss/>", encoding="utf-8")
    fake_site(show, {"one": b"1", "two": b"2"})
    ws = load_workspace(show)
    with pytest.raises(DeployFailed, match=r"would delete 1 object\(s\) no deploy of this "
                                           r"show wrote \(first: other-show/feed\.xml\)"):
        deploy_show(ws, None, prune=True)
    assert not (www / "feed.xml").exists()  # refused before anything was sent
    deploy_show(ws, None)
    (show / "episodes" / "two" / "two.mp3").unlink()
    (show / "episodes" / "two" / "index.html").unlink()
    fake_site(show, {"one": b"1"})  # "two" is gone from the site: ours to delete
    done = run_cli(show, "deploy", "--prune")
    assert done.returncode == 1 and "--force" in done.stderr and one_line(done.stderr)
    assert (www / "two" / "two.mp3").exists() and (www / "other-show" / "feed.xml").exists()
    forced = run_cli(show, "deploy", "--prune", "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (www / "two").exists() and not (www / "other-show").exists()


def test_prune_deletes_what_this_show_wrote_without_force(show: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    fake_site(show, {"one": b"1", "two": b"2"})
    ws = load_workspace(show)
    deploy_show(ws, None)
    for name in ("two.mp3", "index.html"):
        (show / "episodes" / "two" / name).unlink()
    fake_site(show, {"one": b"1"})
    report: Any = deploy_show(ws, None, prune=True)
    assert set(report.deleted) == {"two/two.mp3", "two/index.html"}
