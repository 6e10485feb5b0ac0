"""Deploying a published show to where podcast apps fetch it: an S3-compatible bucket or a
folder. Publishing (``duopod.publish``) makes ``episodes/`` consistent on this disk; this
stage copies it out without breaking the promises the feed makes to listeners:

* incremental: a manifest kept in the target records each file's content hash and the
  object's tag; a file is sent when its hash changed or its object is missing or changed;
* ordered: media and pages first, the site's index next, ``feed.xml`` last, and only once
  every file the new feed names has been seen in the target (a fresh listing);
* never a broken feed: a deploy killed anywhere leaves the old feed (whose files are all
  still there: nothing is deleted before the new feed lands, and only with ``prune``) or the
  new one; the next deploy finishes the job;
* one deployer at a time per target (see ``store``): a second one is refused, naming the
  first;
* one moment of the site: what goes up is a snapshot taken under the show's site lock
  (``snapshot``), so a build landing during a deploy is wholly in the next one;
* the show's address: a site published for another ``base_url`` than show.toml's (the feed
  says where it thinks it lives) is published again for the new address before anything
  is sent, so a move to a bucket or a CDN never puts up a feed of the old addresses.

Only the public site goes out: ``episodes/`` minus hidden names (dot files and folders);
duopod's private ``.duopod/`` state is outside it and never read here.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import DuopodError, InputError
from ..show.workspace import Workspace
from .notify import podping, websub_ping
from .snapshot import LocalFile, public_files, site_snapshot
from .store import DeployBusy, DeployFailed, Store, open_store
from .targets import DeployTarget, choose_target, load_targets

__all__ = [
    "DeployBusy", "DeployEvent", "DeployFailed", "DeployReport", "DeployTarget",
    "choose_target", "deploy_show", "load_targets",
]

_ATOM_LINK = "{http://www.w3.org/2005/Atom}link"
MANIFEST_KEY = ".duopod-deploy.json"
FEED_KEY = "feed.xml"
INDEX_KEY = "index.html"
MANIFEST_EVERY = 20
"""Uploads between manifest saves: a killed deploy re-sends at most this many files."""

LONG = "public, max-age=31536000, immutable"
WEEK = "public, max-age=604800"
HOUR = "public, max-age=3600"
SHORT = "public, max-age=300"
_HASHED = re.compile(r"-[0-9a-f]{10}\.[a-z0-9]+$")
_LANGUAGE_FEED = re.compile(r"^feed-[A-Za-z0-9-]+\.xml$")
"""The show's feeds in other languages (``publish.versions``), polled like feed.xml."""
_TYPES = {
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".opus": "audio/ogg",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8", ".json": "application/json",
    ".vtt": "text/vtt; charset=utf-8", ".srt": "application/x-subrip; charset=utf-8",
    ".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
    ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


def content_type(key: str) -> str:
    return _TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


def cache_control(key: str) -> str:
    """Content-named art never changes at its address: a year, immutable. An MP3 keeps its
    address when an episode is rebuilt, so a week (apps download it once anyway). The
    feed and the index are what apps poll: five minutes. Other pages: an hour."""
    if key in (FEED_KEY, INDEX_KEY) or _LANGUAGE_FEED.match(key):
        return SHORT
    if _HASHED.search(key):
        return LONG
    if key.endswith((".mp3", ".m4a", ".opus")):
        return WEEK
    return HOUR


@dataclass(frozen=True)
class DeployEvent:
    """Told to ``on_event`` before each write to the target (kind ``put``, ``feed``,
    ``manifest``, ``delete``) and after the apps are told (``notified``)."""

    kind: str
    key: str
    size: int = 0


@dataclass
class DeployReport:
    target: str
    dry_run: bool
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0
    seconds: float = 0.0
    feed_changed: bool = False
    notified: list[str] = field(default_factory=list)
    notify_problems: list[str] = field(default_factory=list)
    republished_from: str | None = None
    """The address the site had been published for, when the deploy published it again
    for show.toml's ``base_url`` first (a dry run only says it would)."""


def feed_names(feed: bytes, base_url: str) -> set[str]:
    """The keys of every file below ``base_url`` the feed names (enclosures, art,
    transcripts, chapters, episode pages), the feed itself left out."""
    base = urlsplit(base_url.rstrip("/") + "/")
    names: set[str] = set()
    for element in ET.fromstring(feed).iter():  # noqa: S314 (our own feed)
        candidates = [element.get("url"), element.get("href")]
        if element.tag in ("link", "url"):
            candidates.append((element.text or "").strip())
        for address in candidates:
            if not address:
                continue
            parts = urlsplit(address)
            if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) \
                    or not parts.path.startswith(base.path):
                continue
            key = unquote(parts.path[len(base.path):])
            key = key + INDEX_KEY if key == "" or key.endswith("/") else key
            if key != FEED_KEY:
                names.add(key)
    return names


def _order(key: str) -> tuple[int, str]:
    """Media first, then pages and the rest, then the index; the feed goes on its own."""
    if key == INDEX_KEY or _LANGUAGE_FEED.match(key):  # feed-en-US.xml: after its media
        return (2, key)
    if key.endswith((".mp3", ".m4a", ".opus", ".png", ".jpg", ".jpeg", ".webp")):
        return (0, key)
    return (1, key)


class _Manifest:
    """What the target holds, as duopod last wrote it: key -> sha256, size, tag."""

    def __init__(self, store: Store) -> None:
        self.store = store
        raw = store.get_bytes(MANIFEST_KEY)
        try:
            loaded = json.loads(raw) if raw else {}
        except ValueError:
            loaded = {}  # unreadable: everything is checked as if new
        files = loaded.get("files") if isinstance(loaded, dict) else None
        self.files: dict[str, dict[str, object]] = files if isinstance(files, dict) else {}

    def current(self, key: str, local: LocalFile, tag: str | None) -> bool:
        entry = self.files.get(key)
        return (isinstance(entry, dict) and tag is not None and entry.get("sha256") ==
                local.sha256 and entry.get("tag") == tag and entry.get("size") == local.size)

    def record(self, key: str, local: LocalFile, tag: str) -> None:
        self.files[key] = {"sha256": local.sha256, "size": local.size, "tag": tag}

    def save(self) -> None:
        data = json.dumps({"version": 1, "files": self.files}, indent=0, sort_keys=True)
        self.store.put_bytes(MANIFEST_KEY, data.encode("utf-8"), "application/json",
                             "no-store")


def deploy_show(workspace: Workspace, target_name: str | None, *, prune: bool = False,
                dry_run: bool = False, on_event: Callable[[DeployEvent], None] | None = None
                ) -> DeployReport:
    """Deploy ``workspace``'s published site to its target ``target_name`` (or its only
    one). ``dry_run``: the report says what would change, nothing is written."""
    started = time.monotonic()
    target = choose_target(workspace, target_name)
    report = DeployReport(target=target.name, dry_run=dry_run)
    report.republished_from = _published_for(workspace)
    if report.republished_from is not None and not dry_run:
        from ..publish import republish  # the pages and feeds again, from the records

        republish(workspace)
    with site_snapshot(workspace) as snapshot:
        local = public_files(snapshot)
        if FEED_KEY not in local:
            raise InputError("nothing published to deploy (episodes/feed.xml is missing): "
                             "build or publish first", workspace.episodes_dir / FEED_KEY)
        named = feed_names(local[FEED_KEY].path.read_bytes(), workspace.show.base_url)
        store = open_store(target)
        tell = on_event or (lambda event: None)
        if not dry_run:
            store.lock()
        try:
            _deploy(store, local, named, report, prune, tell)
        finally:
            if not dry_run:
                store.unlock()
    if report.feed_changed and not dry_run:
        _notify(target, workspace.show.base_url.rstrip("/") + "/" + FEED_KEY, report, tell)
    report.seconds = time.monotonic() - started
    return report


def _published_for(workspace: Workspace) -> str | None:
    """The address the published feed says it lives at, when that is not show.toml's
    ``base_url`` (the producer moved the show); None when they agree or nothing says."""
    try:
        feed = (workspace.episodes_dir / FEED_KEY).read_bytes()
        root = ET.fromstring(feed)  # noqa: S314 (our own feed)
    except (OSError, ET.ParseError):
        return None
    base = workspace.show.base_url.rstrip("/")
    for link in root.iter(_ATOM_LINK):
        if link.get("rel") == "self" and (href := link.get("href")):
            published = href.rsplit("/", 1)[0]
            return None if published == base else published
    return None


def _deploy(store: Store, local: dict[str, LocalFile], named: set[str], report: DeployReport,
            prune: bool, tell: Callable[[DeployEvent], None]) -> None:
    remote = store.listing()
    manifest = _Manifest(store)
    missing = sorted(named - set(local) - set(remote))
    if missing:
        raise DeployFailed(f"the feed names {len(missing)} file(s) neither published nor in "
                           f"the target (first: {missing[0]}); run 'duopod feed' to rebuild it")
    stale = sorted((key for key in local if key != FEED_KEY and not manifest.current(
        key, local[key], remote[key].tag if key in remote else None)), key=_order)
    report.skipped = sorted(key for key in local if key != FEED_KEY and key not in stale)
    feed_tag = remote[FEED_KEY].tag if FEED_KEY in remote else None
    report.feed_changed = bool(stale) or not manifest.current(FEED_KEY, local[FEED_KEY],
                                                              feed_tag)
    doomed = sorted(set(remote) - set(local) - named) if prune else []
    if report.dry_run:
        report.uploaded = stale + ([FEED_KEY] if report.feed_changed else [])
        report.deleted = doomed
        report.bytes_uploaded = sum(local[key].size for key in report.uploaded)
        return
    for count, key in enumerate(stale, 1):
        _put(store, key, local[key], manifest, report, tell, "put")
        if count % MANIFEST_EVERY == 0:
            tell(DeployEvent("manifest", MANIFEST_KEY))
            manifest.save()
        store.renew()
    if stale:
        tell(DeployEvent("manifest", MANIFEST_KEY))
        manifest.save()
    if report.feed_changed:
        _verify(store, local, named, manifest)
        _put(store, FEED_KEY, local[FEED_KEY], manifest, report, tell, "feed")
        tell(DeployEvent("manifest", MANIFEST_KEY))
        manifest.save()
    else:
        report.skipped.append(FEED_KEY)
    for key in doomed:  # after the new feed: the old one may still name these
        tell(DeployEvent("delete", key))
        store.delete(key)
        manifest.files.pop(key, None)
        report.deleted.append(key)
    if doomed:
        tell(DeployEvent("manifest", MANIFEST_KEY))
        manifest.save()


def _put(store: Store, key: str, file: LocalFile, manifest: _Manifest, report: DeployReport,
         tell: Callable[[DeployEvent], None], kind: str) -> None:
    tell(DeployEvent(kind, key, file.size))
    tag = store.put_file(key, file.path, content_type(key), cache_control(key))
    manifest.record(key, file, tag)
    report.uploaded.append(key)
    report.bytes_uploaded += file.size


def _verify(store: Store, local: dict[str, LocalFile], named: set[str],
            manifest: _Manifest) -> None:
    """Every file the new feed names is in the target now, as sent (a fresh listing)."""
    remote = store.listing()
    for key in sorted(named):
        there = remote.get(key)
        if there is None:
            raise DeployFailed(f"{key} is not in the target after upload; the feed was not "
                               "replaced")
        if key in local and not manifest.current(key, local[key], there.tag):
            raise DeployFailed(f"{key} in the target differs from the one just sent "
                               "(another writer?); the feed was not replaced")


def _notify(target: DeployTarget, feed_url: str, report: DeployReport,
            tell: Callable[[DeployEvent], None]) -> None:
    for address, send in ((target.hub, websub_ping), (target.ping_url, podping)):
        if address is None:
            continue
        problem = send(address, feed_url)
        if problem is None:
            report.notified.append(address)
            tell(DeployEvent("notified", address))
        else:
            report.notify_problems.append(problem)


def targets_summary(workspace: Workspace) -> list[str]:
    """One line per target for messages: name and URL (no credential lives there)."""
    return [f"{name}: {target.url}" for name, target in load_targets(workspace).items()]


_ = DuopodError  # re-exported errors above derive from it
