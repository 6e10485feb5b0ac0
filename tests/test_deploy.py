"""duopod deploy against a real S3 server (SeaweedFS's S3 gateway on a loopback port) and a
folder: incremental by hash, feed last, prune, dry run, kills at every write, one deployer
at a time, podcast clients reading the bucket, the apps told through WebSub and a ping."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import s3_server
from conftest import run_cli, tree_snapshot
from loopback import LoopbackApp

from duopod.deploy import (
    DeployBusy,
    DeployFailed,
    cache_control,
    choose_target,
    content_type,
    deploy_show,
    feed_names,
)
from duopod.errors import InputError
from duopod.show.workspace import load_workspace

CREDENTIALS = {"AWS_ACCESS_KEY_ID": s3_server.KEYS["aws_access_key_id"],
               "AWS_SECRET_ACCESS_KEY": s3_server.KEYS["aws_secret_access_key"],
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
BUCKET = s3_server.BUCKET


def add_target(root: Path, name: str, url: str, **extra: str) -> None:
    lines = [f"\n[deploy.{name}]", f'url = "{url}"'] + [f'{k} = "{v}"' for k, v in extra.items()]
    with (root / "show.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def set_base_url(root: Path, base_url: str) -> None:
    text = (root / "show.toml").read_text(encoding="utf-8")
    text = text.replace('base_url = "https://podcast.example.com"', f'base_url = "{base_url}"')
    (root / "show.toml").write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- without a server


def test_targets_are_read_typed_with_file_and_line(show: Path) -> None:
    add_target(show, "cdn", "s3://my-bucket/shows/xinwen", region="auto",
               endpoint_url="https://acct.r2.cloudflarestorage.com")
    add_target(show, "www", "file:///srv/www/xinwen")
    ws = load_workspace(show)
    cdn = choose_target(ws, "cdn")
    assert (cdn.scheme, cdn.bucket, cdn.prefix, cdn.region) == ("s3", "my-bucket",
                                                                "shows/xinwen", "auto")
    assert choose_target(ws, "www").folder == Path("/srv/www/xinwen")
    with pytest.raises(InputError, match="several deploy targets"):
        choose_target(ws, None)
    with pytest.raises(InputError, match="no deploy target 'nope'"):
        choose_target(ws, "nope")
    add_target(show, "bad", "ftp://example.com/x")
    line = (show / "show.toml").read_text(encoding="utf-8").splitlines().index("[deploy.bad]")
    with pytest.raises(InputError) as caught:
        choose_target(load_workspace(show), "bad")
    # the line the parser found the field on: url's own, below [deploy.bad]
    assert caught.value.line == line + 2 and "deploy.bad.url" in str(caught.value)


def test_unknown_field_in_a_target_is_refused(show: Path) -> None:
    add_target(show, "cdn", "s3://my-bucket", secret_key="oops")
    with pytest.raises(InputError, match=r"unknown field 'deploy\.cdn\.secret_key'"):
        choose_target(load_workspace(show), None)


def test_types_and_cache_lifetimes() -> None:
    assert content_type("a/a.mp3") == "audio/mpeg"
    assert content_type("feed.xml").startswith("application/rss+xml")
    assert "immutable" in cache_control("cover-8449d33427.png")
    assert "immutable" not in cache_control("a/a.mp3")
    assert cache_control("feed.xml") == cache_control("index.html") == "public, max-age=300"


def test_feed_names_the_files_below_base_url() -> None:
    feed = b"""<rss xmlns:atom="http://www.w3.org/2005/Atom"><channel>
      <link>https://x.example/s/</link><atom:link href="https://x.example/s/feed.xml"/>
      <item><link>https://x.example/s/ep/</link>
        <enclosure url="https://x.example/s/ep/ep%20one.mp3"/>
        <itunes:image xmlns:itunes="i" href="https://elsewhere.example/a.png"/></item>
    </channel></rss>"""
    assert feed_names(feed, "https://x.example/s") == {"index.html", "ep/index.html",
                                                       "ep/ep one.mp3"}


def fake_site(root: Path, episodes: dict[str, bytes]) -> None:
    """A published site by hand: a feed naming one MP3 per episode, pages, a hidden file."""
    site = root / "episodes"
    items = ""
    for slug, audio in episodes.items():
        (site / slug).mkdir(parents=True, exist_ok=True)
        (site / slug / f"{slug}.mp3").write_bytes(audio)
        (site / slug / "index.html").write_text(f"<p>{slug}</p>", encoding="utf-8")
        items += (f'<item><link>https://podcast.example.com/{slug}/</link><enclosure '
                  f'url="https://podcast.example.com/{slug}/{slug}.mp3"/></item>')
    (site / "index.html").write_text("<p>index</p>", encoding="utf-8")
    (site / "feed.xml").write_text(f"<rss><channel>{items}</channel></rss>", encoding="utf-8")
    (site / ".hidden").mkdir(exist_ok=True)
    (site / ".hidden" / "secret.txt").write_text("private", encoding="utf-8")
    (site / ".notes.swp").write_text("private", encoding="utf-8")


def test_folder_deploy_incremental_prune_dry_run(show: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    fake_site(show, {"one": b"1" * 1000, "two": b"2" * 2000})
    (show / ".duopod").mkdir()
    (show / ".duopod" / "state.json").write_text("{}", encoding="utf-8")
    ws = load_workspace(show)

    first = deploy_show(ws, None)
    assert first.uploaded[-1] == "feed.xml" and first.uploaded[-2] == "index.html"
    assert first.uploaded.index("one/one.mp3") < first.uploaded.index("one/index.html")
    public = {k for k in tree_snapshot(www) if not k.startswith(".duopod-deploy")}
    assert public == {"feed.xml", "index.html", "one/one.mp3", "one/index.html",
                      "two/two.mp3", "two/index.html"}  # nothing hidden, no .duopod/

    again = deploy_show(ws, None)
    assert again.uploaded == [] and not again.feed_changed

    (www / "two" / "two.mp3").write_bytes(b"damaged")  # changed in the target: re-sent
    (www / "one" / "index.html").unlink()  # missing in the target: re-sent
    repaired = deploy_show(ws, None)
    assert set(repaired.uploaded) == {"two/two.mp3", "one/index.html", "feed.xml"}
    assert (www / "two" / "two.mp3").read_bytes() == b"2" * 2000

    shutil.rmtree(show / "episodes" / "two")
    fake_site(show, {"one": b"1" * 1000})
    planned = deploy_show(ws, None, prune=True, dry_run=True)
    assert set(planned.deleted) == {"two/two.mp3", "two/index.html"}
    assert (www / "two" / "two.mp3").exists()  # a dry run writes nothing
    kept = deploy_show(ws, None)  # no --prune: nothing deleted
    assert kept.deleted == [] and (www / "two" / "two.mp3").exists()
    pruned = deploy_show(ws, None, prune=True)
    assert set(pruned.deleted) == {"two/two.mp3", "two/index.html"}
    assert not (www / "two").exists()


def test_prune_never_deletes_what_the_feed_names(show: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    fake_site(show, {"one": b"1" * 10})
    ws = load_workspace(show)
    deploy_show(ws, None)
    (show / "episodes" / "one" / "one.mp3").unlink()  # the feed still names it
    report = deploy_show(ws, None, prune=True)
    assert report.deleted == [] and (www / "one" / "one.mp3").exists()


def test_feed_naming_a_file_nowhere_is_refused(show: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    fake_site(show, {"one": b"1" * 10})
    (show / "episodes" / "one" / "one.mp3").unlink()
    with pytest.raises(DeployFailed, match=r"one/one\.mp3"):
        deploy_show(load_workspace(show), None)
    assert not (www / "feed.xml").exists()


def test_a_second_folder_deploy_is_refused_while_one_runs(show: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    fake_site(show, {"one": b"1" * 10})
    ws = load_workspace(show)
    caught: list[Exception] = []

    def second(event: Any) -> None:
        if not caught:
            try:
                deploy_show(ws, None)
            except DeployBusy as exc:
                caught.append(exc)

    deploy_show(ws, None, on_event=second)
    assert caught and "another deploy" in str(caught[0]) and f"pid {os.getpid()}" in str(
        caught[0])
    assert deploy_show(ws, None).uploaded == []  # the lock went with the first deploy


class Hub(LoopbackApp):
    """A WebSub hub and a podping endpoint that fail ``failures`` times, then accept."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, dict[str, str]]] = []

    def routes(self, app: Any) -> None:
        from aiohttp import web

        async def hub(request: web.Request) -> web.Response:
            form = await request.post()
            self.calls.append(("hub", {k: str(v) for k, v in form.items()}))
            return self._answer()

        async def ping(request: web.Request) -> web.Response:
            self.calls.append(("ping", dict(request.query)))
            return self._answer()

        app.router.add_post("/hub", hub)
        app.router.add_get("/ping", ping)

    def _answer(self) -> Any:
        from aiohttp import web

        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=503)
        return web.Response(status=204)


def test_apps_are_told_after_the_feed_with_retries(show: Path, tmp_path: Path) -> None:
    hub = Hub(failures=1).start()
    try:
        url = f"http://127.0.0.1:{hub.port}"
        add_target(show, "www", (tmp_path / "www").as_uri(), hub=f"{url}/hub",
                   ping_url=f"{url}/ping")
        fake_site(show, {"one": b"1" * 10})
        ws = load_workspace(show)
        report = deploy_show(ws, None)
        assert report.notify_problems == []
        feed = "https://podcast.example.com/feed.xml"
        assert ("hub", {"hub.mode": "publish", "hub.url": feed}) in hub.calls
        assert ("ping", {"url": feed}) in hub.calls
        assert len(hub.calls) == 3  # one failed and was retried
        calls = len(hub.calls)
        deploy_show(ws, None)  # nothing changed: nobody is told
        assert len(hub.calls) == calls
    finally:
        hub.stop()


def test_a_hub_that_stays_down_is_reported_not_fatal(show: Path, tmp_path: Path) -> None:
    hub = Hub(failures=99).start()
    try:
        add_target(show, "www", (tmp_path / "www").as_uri(),
                   hub=f"http://127.0.0.1:{hub.port}/hub")
        fake_site(show, {"one": b"1" * 10})
        report = deploy_show(load_workspace(show), None)
        assert report.notify_problems and "503" in report.notify_problems[0]
        assert len(hub.calls) == 3  # bounded
        assert (tmp_path / "www" / "feed.xml").exists()
    finally:
        hub.stop()


# ---------------------------------------------------------------- SeaweedFS's S3 gateway


def _s3_client(endpoint: str) -> Any:
    return s3_server.client(endpoint)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with s3_server.weed_s3(tmp_path_factory.mktemp("weed")) as endpoint:
            yield endpoint
    except s3_server.Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)


def bucket_show(built_show: Path, tmp_path: Path, endpoint: str, prefix: str,
                name: str = "show") -> Path:
    """A copy of the built example show whose base_url is the bucket's public address, so
    podcast apps fetch everything from the S3 gateway; republished for that address."""
    root = tmp_path / name
    shutil.copytree(built_show, root, symlinks=True)
    set_base_url(root, f"{endpoint}/{BUCKET}/{prefix}")
    add_target(root, "cdn", f"s3://{BUCKET}/{prefix}", endpoint_url=endpoint,
               region="us-east-1")
    result = run_cli(root, "publish")
    assert result.returncode == 0, result.stderr
    return root


def english_slug(root: Path) -> str:
    return next(p.name for p in (root / "episodes").iterdir() if p.name.startswith("2025-12-12"))


def unpublished_copy(root: Path, tmp_path: Path, name: str) -> Path:
    """The same show one episode earlier: the English episode taken out of the feed."""
    older = tmp_path / name
    shutil.copytree(root, older, symlinks=True)
    result = run_cli(older, "unpublish", english_slug(older))
    assert result.returncode == 0, result.stderr
    return older


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as reply:
        return reply.status, dict(reply.headers), reply.read()


def public_objects(endpoint: str, prefix: str) -> dict[str, str]:
    client = _s3_client(endpoint)
    found: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                  Prefix=f"{prefix}/"):
        for item in page.get("Contents", []):
            key = item["Key"][len(prefix) + 1:]
            if not key.startswith("."):  # duopod's manifest and lock
                found[key] = item["ETag"]
    return found


def assert_feed_whole(endpoint: str, prefix: str, base_url: str | None = None
                      ) -> bytes | None:
    """The public feed (if any) names only files that are in the bucket."""
    objects = public_objects(endpoint, prefix)
    if "feed.xml" not in objects:
        return None
    client = _s3_client(endpoint)
    feed = client.get_object(Bucket=BUCKET, Key=f"{prefix}/feed.xml")["Body"].read()
    missing = feed_names(feed, base_url or f"{endpoint}/{BUCKET}/{prefix}") - set(objects)
    assert not missing, f"the public feed names missing files: {sorted(missing)}"
    return bytes(feed)


def test_s3_first_no_change_and_one_episode_change(built_show: Path, tmp_path: Path,
                                                   s3_endpoint: str, credentials: None
                                                   ) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    new = bucket_show(built_show, tmp_path, s3_endpoint, prefix)
    old = unpublished_copy(new, tmp_path, "old")

    dry = deploy_show(load_workspace(old), None, dry_run=True)
    assert dry.uploaded and public_objects(s3_endpoint, prefix) == {}

    first = deploy_show(load_workspace(old), None)
    assert first.uploaded[-1] == "feed.xml" and first.uploaded[-2] == "index.html"
    assert first.uploaded[0].endswith((".mp3", ".png"))
    public = set(public_objects(s3_endpoint, prefix))
    assert public == set(tree_snapshot(old / "episodes"))
    assert not any(".duopod" in key.split("/")[0] for key in public)

    again = deploy_show(load_workspace(old), None)
    assert again.uploaded == [] and again.bytes_uploaded == 0

    before, after = tree_snapshot(old / "episodes"), tree_snapshot(new / "episodes")
    changed = {key for key, data in after.items() if before.get(key) != data}
    update = deploy_show(load_workspace(new), None)
    assert set(update.uploaded) == changed and update.uploaded[-1] == "feed.xml"
    slug = english_slug(new)
    assert f"{slug}/{slug}.mp3" in update.uploaded
    assert not [k for k in update.uploaded if k.endswith(".mp3") and not k.startswith(slug)]
    assert assert_feed_whole(s3_endpoint, prefix) == after["feed.xml"]

    # back to the older show: without --prune the English files stay, with it they go
    assert deploy_show(load_workspace(old), None).deleted == []
    pruned = deploy_show(load_workspace(old), None, prune=True)
    assert pruned.deleted and all(key.startswith(slug) for key in pruned.deleted)
    assert set(public_objects(s3_endpoint, prefix)) == set(before)


def test_podcast_clients_read_the_bucket(built_show: Path, tmp_path: Path, s3_endpoint: str,
                                         credentials: None) -> None:
    import feedparser

    prefix = f"t-{uuid.uuid4().hex[:8]}"
    root = bucket_show(built_show, tmp_path, s3_endpoint, prefix)
    result = run_cli(root, "deploy")
    assert result.returncode == 0, result.stderr
    assert "not-a-secret" not in result.stdout + result.stderr
    base = f"{s3_endpoint}/{BUCKET}/{prefix}"

    status, headers, body = fetch(f"{base}/feed.xml")
    assert headers["Content-Type"].startswith("application/rss+xml")
    assert headers["Cache-Control"] == "public, max-age=300"
    parsed = feedparser.parse(body)
    assert not parsed.bozo and len(parsed.entries) == 2
    enclosure = parsed.entries[0].enclosures[0]
    assert enclosure.href.startswith(base)

    status, headers, audio = fetch(enclosure.href)
    assert headers["Content-Type"] == "audio/mpeg" and audio[:3] in (b"ID3", b"\xff\xfb")
    assert int(enclosure.length) == len(audio)
    status, headers, part = fetch(enclosure.href, Range="bytes=1000-1999")
    assert status == 206 and part == audio[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(audio)}"
    status, headers, _ = fetch(f"{base}/{parsed.feed.image.href.rsplit('/', 1)[1]}")
    assert "immutable" in headers["Cache-Control"] and headers["Content-Type"] == "image/png"

    if shutil.which("gpo") is None:
        pytest.skip("Debian's gpodder (gpo) is not installed")
    env = {**os.environ, "GPODDER_HOME": str(tmp_path / "home"),
           "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads")}

    def gpo(*args: str) -> str:
        done = subprocess.run(["gpo", *args], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    gpo("subscribe", f"{base}/feed.xml")
    gpo("update")
    listing = gpo("episodes", "--guid")
    assert all(entry.id in listing for entry in parsed.entries)
    gpo("download")
    downloads = {p.name: p.read_bytes() for p in (tmp_path / "downloads").rglob("*.mp3")}
    assert len(downloads) == 2
    for mp3 in (root / "episodes").glob("*/*.mp3"):
        assert downloads[mp3.name] == mp3.read_bytes()


KILLER = """
import os, signal, sys, time
from duopod.deploy import deploy_show
from duopod.show.workspace import load_workspace
step, pause, count = int(sys.argv[1]), float(sys.argv[2]), 0
def on_event(event):
    global count
    count += 1
    if count == step:
        os.kill(os.getpid(), signal.SIGKILL)
    if event.kind in ("put", "feed"):
        time.sleep(pause)
deploy_show(load_workspace(), sys.argv[3], on_event=on_event)
print("events", count)
"""


def run_killable(root: Path, step: int, pause: float = 0.0, target: str = "cdn"
                 ) -> subprocess.Popen[str]:
    """A deploy in its own process, SIGKILLed just before its ``step``-th write (0: never):
    no ``finally`` runs, the lease stays in the bucket, as after a crash."""
    return subprocess.Popen([sys.executable, "-c", KILLER, str(step), str(pause), target],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_killed_anywhere_the_feed_stays_whole_and_the_next_run_finishes(
        built_show: Path, tmp_path: Path, s3_endpoint: str, credentials: None) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    new = bucket_show(built_show, tmp_path, s3_endpoint, prefix)
    old = unpublished_copy(new, tmp_path, "old")
    base = f"{s3_endpoint}/{BUCKET}/{prefix}"
    feeds = {(root / "episodes" / "feed.xml").read_bytes(): name
             for root, name in ((old, "old"), (new, "new"))}

    def old_deployed(name: str) -> None:
        """A fresh place in the bucket holding the older show."""
        for root in (old, new):
            add_target(root, name, f"s3://{BUCKET}/{prefix}-{name}", endpoint_url=s3_endpoint,
                       region="us-east-1")
        deploy_show(load_workspace(old), name)

    old_deployed("k0")
    counting = run_killable(new, 0, target="k0")
    out, err = counting.communicate(timeout=300)
    assert counting.returncode == 0, err
    events = int(out.split()[-1])
    assert events >= 8  # the new episode's files, manifests, the feed
    seen = set()
    for step in range(1, events + 1):
        name = f"k{step}"
        old_deployed(name)
        killed = run_killable(new, step, target=name)
        killed.communicate(timeout=300)
        assert killed.returncode == -signal.SIGKILL, step
        public = assert_feed_whole(s3_endpoint, f"{prefix}-{name}", base)
        seen.add(feeds[public])  # the old feed or the new one, nothing else
        finish = deploy_show(load_workspace(new), name)  # takes the dead deployer's lease
        assert deploy_show(load_workspace(new), name).uploaded == [], step
        assert assert_feed_whole(s3_endpoint, f"{prefix}-{name}", base) == max(
            feeds, key=lambda feed: feeds[feed] == "new")
        assert finish.uploaded, step
    assert seen == {"old", "new"}  # some kills came after the new feed landed


def test_a_second_s3_deploy_is_refused_while_one_runs(built_show: Path, tmp_path: Path,
                                                      s3_endpoint: str, credentials: None
                                                      ) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    root = bucket_show(built_show, tmp_path, s3_endpoint, prefix)
    slow = run_killable(root, 0, pause=0.5)  # about ten seconds of uploads
    try:
        deadline = time.monotonic() + 60
        while ".duopod-deploy.lock" not in _keys(s3_endpoint, prefix):
            assert time.monotonic() < deadline and slow.poll() is None
            time.sleep(0.1)
        with pytest.raises(DeployBusy, match=f"pid {slow.pid}"):
            deploy_show(load_workspace(root), None)
        result = run_cli(root, "deploy")
        assert result.returncode == 1 and "another deploy" in result.stderr
    finally:
        _out, err = slow.communicate(timeout=300)
    assert slow.returncode == 0, err
    assert deploy_show(load_workspace(root), None).uploaded == []
    assert ".duopod-deploy.lock" not in _keys(s3_endpoint, prefix)


def _keys(endpoint: str, prefix: str) -> set[str]:
    listing = _s3_client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    return {item["Key"][len(prefix) + 1:] for item in listing.get("Contents", [])}


def test_cli_deploy_dry_run_and_errors(show: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    result = run_cli(show, "deploy")
    assert result.returncode == 2 and "no deploy target" in result.stderr
    add_target(show, "www", www.as_uri())
    fake_site(show, {"one": b"1" * 10})
    result = run_cli(show, "deploy", "--dry-run")
    assert result.returncode == 0 and "would send   feed.xml" in result.stdout
    assert not www.exists()
    result = run_cli(show, "deploy", "www")
    assert result.returncode == 0 and "sent 4 file(s)" in result.stdout



def test_the_feed_names_a_configured_hub(show: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from duopod.site.feed import NAMESPACES, build_feed

    add_target(show, "www", (tmp_path / "www").as_uri(), hub="https://hub.example/")
    channel = ET.fromstring(build_feed(load_workspace(show).show, [])).find("channel")
    assert channel is not None
    links = {(link.get("rel"), link.get("href"))
             for link in channel.findall(f"{{{NAMESPACES['atom']}}}link")}
    assert ("hub", "https://hub.example/") in links
    assert ("self", "https://podcast.example.com/feed.xml") in links


@pytest.mark.slow
def test_s3_lease_of_another_machine_blocks_until_it_expires(show: Path, s3_endpoint: str,
                                                              credentials: None) -> None:
    import json

    prefix = f"t-{uuid.uuid4().hex[:8]}"
    add_target(show, "cdn", f"s3://{BUCKET}/{prefix}", endpoint_url=s3_endpoint,
               region="us-east-1")
    fake_site(show, {"one": b"1" * 10})
    ws = load_workspace(show)
    lease = {"owner": "x", "host": "another-machine", "pid": 1, "since": time.time()}
    s3 = _s3_client(s3_endpoint)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/.duopod-deploy.lock",
                  Body=json.dumps({**lease, "expires": time.time() + 600}))
    with pytest.raises(DeployBusy, match="another-machine"):
        deploy_show(ws, None)
    assert "feed.xml" not in _keys(s3_endpoint, prefix)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/.duopod-deploy.lock",
                  Body=json.dumps({**lease, "expires": time.time() - 1}))
    report = deploy_show(ws, None)  # expired: taken over
    assert report.uploaded[-1] == "feed.xml"
    assert ".duopod-deploy.lock" not in _keys(s3_endpoint, prefix)


@pytest.mark.slow
def test_folder_deploy_killed_anywhere_keeps_a_whole_feed(show: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    old_site = {"one": b"1" * 100}
    new_site = {"one": b"1" * 100, "two": b"2" * 100, "three": b"3" * 100}
    fake_site(show, new_site)
    new_feed = (show / "episodes" / "feed.xml").read_bytes()
    steps = 0
    while True:
        steps += 1
        shutil.rmtree(www, ignore_errors=True)
        shutil.rmtree(show / "episodes")
        fake_site(show, old_site)
        old_feed = (show / "episodes" / "feed.xml").read_bytes()
        deploy_show(load_workspace(show), None)
        fake_site(show, new_site)
        killed = run_killable(show, steps, target="www")
        killed.communicate(timeout=120)
        public = (www / "feed.xml").read_bytes()
        assert public in (old_feed, new_feed), steps
        missing = {key for key in feed_names(public, "https://podcast.example.com")
                   if not (www / key).is_file()}
        assert not missing, (steps, missing)
        if killed.returncode == 0:  # ran to the end: every write had its kill
            break
        assert killed.returncode == -signal.SIGKILL
        deploy_show(load_workspace(show), None)  # the kernel released the dead one's lock
        assert (www / "feed.xml").read_bytes() == new_feed
    assert steps > 6


@pytest.mark.slow
def test_s3_errors_are_one_line_without_the_secret(show: Path, s3_endpoint: str,
                                                   credentials: None) -> None:
    add_target(show, "cdn", "s3://no-such-bucket-here/x", endpoint_url=s3_endpoint,
               region="us-east-1")
    fake_site(show, {"one": b"1" * 10})
    result = run_cli(show, "deploy")
    assert result.returncode == 1 and "no-such-bucket-here" in result.stderr
    assert "Traceback" not in result.stderr and "not-a-secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_build_deploy_lands_then_deploys_to_a_folder(show: Path, tmp_path: Path) -> None:
    """`duopod build --deploy`: the episode lands, then the site goes to the target; the
    deployed feed names the new MP3 and the file is there, byte for byte."""
    import feedparser
    from conftest import ENGLISH, run_cli

    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    result = run_cli(show, "build", f"scripts/{ENGLISH}", "--engine", "espeak", "--deploy")
    assert result.returncode == 0, result.stderr
    assert "deploy www: sent" in result.stdout, result.stdout
    feed = feedparser.parse((www / "feed.xml").read_bytes())
    assert len(feed.entries) == 1
    name = feed.entries[0].enclosures[0].href.rsplit("/", 1)[-1]
    local = next((show / "episodes").glob(f"*/{name}"))
    deployed = www / local.parent.name / name
    assert deployed.read_bytes() == local.read_bytes()


def test_build_verify_holds_the_deploy_back_when_a_sentence_is_flagged(
        show: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`build --verify --deploy` in the library (the CLI and any other caller of
    build_scripts, a build through the queue too): the episode lands and is heard before anything is deployed; a flagged
    sentence leaves the target untouched, says why and exits 1. Heard well, it deploys."""
    from conftest import ENGLISH

    import duopod.verify
    from duopod.build import BuildOptions, build_scripts

    class Report:
        def __init__(self, flagged: int) -> None:
            self.flagged = ("a sentence",) * flagged
            self.exit_code = 1 if flagged else 0

    heard: list[str] = []

    def verify_episode(_workspace: object, slug: str) -> Report:
        heard.append(slug)
        return Report(flagged=1 if len(heard) == 1 else 0)

    monkeypatch.setattr(duopod.verify, "verify_episode", verify_episode)
    www = tmp_path / "www"
    add_target(show, "www", www.as_uri())
    options = BuildOptions(engine="espeak", verify=True, deploy="")
    script = show / "scripts" / ENGLISH
    run = build_scripts(load_workspace(show), [script], options)
    assert run.outcomes[0].ok and heard == [run.outcomes[0].slug]
    assert (run.deployed, run.held_back, run.exit_code) == (
        None, "1 sentence(s) flagged by --verify", 1)
    assert not www.exists()
    again = build_scripts(load_workspace(show), [script], options)
    assert again.exit_code == 0 and again.deployed is not None and again.held_back is None
    assert (www / "feed.xml").is_file()


# ---------------------------------------------------------------- where deploy meets build


def _land_mid_deploy(root: Path) -> Any:
    """An on_event hook that, at the deploy's first upload, builds the English script,
    whose episode lands in the site while the deploy is still sending."""
    from conftest import ENGLISH

    landed: list[bool] = []

    def hook(event: Any) -> None:
        if event.kind == "put" and not landed:
            landed.append(True)
            result = run_cli(root, "build", f"scripts/{ENGLISH}", "--engine", "espeak")
            assert result.returncode == 0, result.stderr

    return hook


def _folder_feed_whole(www: Path, base_url: str) -> set[str]:
    feed = (www / "feed.xml").read_bytes()
    present = {p.relative_to(www).as_posix() for p in www.rglob("*") if p.is_file()}
    missing = feed_names(feed, base_url) - present
    assert not missing, f"the deployed feed names missing files: {sorted(missing)}"
    return feed_names(feed, base_url)


@pytest.mark.slow
def test_a_build_landing_mid_deploy_is_wholly_in_the_next_deploy_folder(
        built_show: Path, tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    slug = english_slug(root)
    assert run_cli(root, "unpublish", slug).returncode == 0
    www = tmp_path / "www"
    add_target(root, "www", www.as_uri())
    base = load_workspace(root).show.base_url
    deploy_show(load_workspace(root), None, on_event=_land_mid_deploy(root))
    named = _folder_feed_whole(www, base)
    assert not any(key.startswith(slug) for key in named)  # this deploy: the old site
    assert (root / "episodes" / slug).is_dir()  # the build landed meanwhile
    later = deploy_show(load_workspace(root), None)
    assert f"{slug}/{slug}.mp3" in later.uploaded
    assert any(key.startswith(slug) for key in _folder_feed_whole(www, base))


@pytest.mark.slow
def test_a_build_landing_mid_deploy_is_wholly_in_the_next_deploy_s3(
        built_show: Path, tmp_path: Path, s3_endpoint: str, credentials: None) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    root = unpublished_copy(bucket_show(built_show, tmp_path, s3_endpoint, prefix), tmp_path,
                            "racing")
    slug = english_slug(built_show)
    deploy_show(load_workspace(root), None, on_event=_land_mid_deploy(root))
    feed = assert_feed_whole(s3_endpoint, prefix)
    assert feed is not None and slug.encode() not in feed
    deploy_show(load_workspace(root), None)
    feed = assert_feed_whole(s3_endpoint, prefix)
    assert feed is not None and slug.encode() in feed


@pytest.mark.slow
def test_a_base_url_change_then_deploy_never_publishes_the_old_addresses(
        built_show: Path, tmp_path: Path) -> None:
    """The producer moves the show (a bucket, a CDN) and deploys: the site is published
    again for the new address first; a dry run says so and changes nothing."""
    import feedparser

    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    old = load_workspace(root).show.base_url
    new = "https://cdn.example.net/xinwen"
    set_base_url(root, new)
    www = tmp_path / "www"
    add_target(root, "www", www.as_uri())
    dry = run_cli(root, "deploy", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"published for {old}" in dry.stdout and not www.exists()
    assert old.encode() in (root / "episodes" / "feed.xml").read_bytes()  # unchanged
    report = deploy_show(load_workspace(root), None)
    assert report.republished_from == old
    deployed = b"".join(p.read_bytes() for p in www.rglob("*") if p.is_file()
                        and p.suffix in (".xml", ".html", ".json", ".vtt", ".srt"))
    assert old.encode() not in deployed
    feed = feedparser.parse((www / "feed.xml").read_bytes())
    assert feed.entries and all(e.enclosures[0].href.startswith(new) for e in feed.entries)
    _folder_feed_whole(www, new)
    again = deploy_show(load_workspace(root), None)
    assert again.republished_from is None and again.uploaded == []
