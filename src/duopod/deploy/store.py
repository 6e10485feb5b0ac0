"""The two kinds of place a show is deployed to, behind one small interface: an
S3-compatible bucket (through boto3) and a plain folder (a web root or a mounted share).

Each lists what it holds with a tag that changes whenever an object does (the S3 ETag; a
file's size and modification time), writes one object whole or not at all (an S3 PUT is
atomic; a file goes through a temporary name and a rename), and holds the one-deployer
lock: a lease object written only if absent (S3 conditional writes) or a kernel lock on a
file (released by the kernel when a deployer is killed).

The bucket's gateway is a server duopod does not trust (docs/security.md): every request
has connect and read time-outs and a total deadline of its own (``REQUEST_SECONDS`` plus a
second per ``MIN_RATE`` bytes sent), the whole deploy a deadline (``deadline``), and every
failure of boto3 or botocore, whatever its class, is one line naming what was being done
(never a traceback, never a credential: a URL in a message is printed without its
password). A lease object is read as ``answers.read_json`` reads any answer and taken
field by field: one of any odd shape is a lease of unknown holder, and however far away
its ``expires``, it lapses ``LEASE_SECONDS`` after it was last written (by the gateway's
own clock: its ``Last-Modified`` against its ``Date``).
"""

from __future__ import annotations

import contextlib
import email.utils
import fcntl
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Protocol

from ..answers import AnswerError, Shape, read_json
from ..disk.locks import process_alive
from ..errors import DuopodError
from ..urls import redact_url
from .targets import DeployTarget

LOCK_KEY = ".duopod-deploy.lock"
LEASE_SECONDS = 300.0
"""How long an S3 lease lasts without renewal: a deployer killed on another machine holds
the show for at most this long (one killed on this machine, not at all)."""
DEPLOY_DEADLINE = 3600.0
"""Seconds a whole deploy may take by default (``duopod deploy --deadline``); a deploy
stopped by it leaves the old feed, and the next one sends only what is still missing."""
REQUEST_SECONDS = 120.0
"""Seconds one request to the gateway may take in all (its retries included), ..."""
MIN_RATE = 64 * 1024
"""... plus one second per this many bytes it sends (an upload at 512 kbit/s is not cut)."""
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 10.0, 30.0, 3
"""botocore's own bounds on one attempt, and the attempts a request gets."""
UNLOCK_SECONDS = 30.0
"""What releasing the lock may take, whatever is left of the deadline: a deploy that ran
out of time or failed still removes its lease when the gateway answers."""
MAX_LEASE_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
"""Objects of duopod's own read back at most this large (a lease, the manifest)."""


class DeployBusy(DuopodError):
    """Another deploy to the same target holds its lock."""


class DeployFailed(DuopodError):
    """The target refused a write or a check failed; the public feed is unchanged."""


@dataclass(frozen=True)
class Remote:
    size: int
    tag: str


class Store(Protocol):
    def listing(self) -> dict[str, Remote]:
        """Every public object (hidden names, duopod's own files, skipped) by key."""
        ...

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> str:
        """Write ``path`` at ``key`` whole; returns the object's new tag."""
        ...

    def get_bytes(self, key: str) -> bytes | None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str
                  ) -> str: ...

    def delete(self, key: str) -> None: ...

    def lock(self) -> None:
        """Take the one-deployer lock or raise DeployBusy naming who holds it."""
        ...

    def renew(self) -> None:
        """Keep the lock (an S3 lease) alive during a long deploy."""
        ...

    def unlock(self) -> None: ...


def hidden(key: str) -> bool:
    return any(part.startswith(".") for part in key.split("/"))


@dataclass(frozen=True)
class Holder:
    """This deployer, as the lock it writes names it (``Lease`` reads another's)."""

    owner: str
    host: str
    pid: int
    since: float
    expires: float | None = None
    """When an S3 lease lapses unless renewed (a folder's lock needs none)."""

    @classmethod
    def mine(cls) -> Holder:
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid(), time.time())

    def to_json(self) -> str:
        fields = {"owner": self.owner, "host": self.host, "pid": self.pid, "since": self.since}
        if self.expires is not None:
            fields["expires"] = self.expires
        return json.dumps(fields)


@dataclass(frozen=True)
class Lease:
    """The one-deployer lock as another deployer left it; a field of the wrong type or out
    of range is None (unknown), a lock that is not a JSON object is all unknown."""

    owner: str | None = None
    host: str | None = None
    pid: int | None = None
    since: float | None = None
    expires: float | None = None

    @classmethod
    def read(cls, data: bytes, where: str) -> Lease:
        try:
            shape = Shape(read_json(data or b"{}", where, "the deploy lock",
                                    limit=MAX_LEASE_BYTES), where, "the deploy lock")
        except AnswerError:
            return cls()
        if not shape.is_object():
            return cls()

        def taken(key: str, read: Callable[[Shape], Any]) -> Any:
            try:
                return read(shape.field(key))
            except AnswerError:
                return None

        def moment(field: Shape) -> float | None:
            return None if field.missing else field.number(0, 1e11)

        return cls(owner=taken("owner", Shape.optional_text),
                   host=taken("host", Shape.optional_text),
                   pid=taken("pid", lambda field: field.count(2**31) or None),
                   since=taken("since", moment), expires=taken("expires", moment))

    def describe(self) -> str:
        if self.pid is None and self.host is None and self.since is None:
            return "a lock of unknown origin"
        since = "" if self.since is None else time.strftime(
            " since %Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return f"pid {self.pid or '?'} on {_printable(self.host or '?')}{since}"

    def alive_here(self) -> bool:
        """False when the holder ran on this machine and its process is gone (killed)."""
        if self.host != socket.gethostname() or self.pid is None:
            return True
        return process_alive(self.pid)


def _printable(text: str, length: int = 80) -> str:
    """A value another program wrote, safe in a one-line message."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", text)[:length]


class FolderStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock_file: IO[str] | None = None

    def _path(self, key: str) -> Path:
        return self.folder.joinpath(*key.split("/"))

    def listing(self) -> dict[str, Remote]:
        found: dict[str, Remote] = {}
        if not self.folder.is_dir():
            return found
        for path in self.folder.rglob("*"):
            key = path.relative_to(self.folder).as_posix()
            if hidden(key) or not path.is_file():
                continue
            stat = path.stat()
            found[key] = Remote(stat.st_size, f"{stat.st_size}:{stat.st_mtime_ns}")
        return found

    def _write(self, key: str, fill: Any) -> str:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=".deploy-tmp")
        try:
            os.chmod(tmp, 0o644)
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        stat = target.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> str:
        def fill(handle: IO[bytes]) -> None:
            with path.open("rb") as source:
                shutil.copyfileobj(source, handle, 1 << 20)
        return self._write(key, fill)

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str
                  ) -> str:
        return self._write(key, lambda handle: handle.write(data))

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
        parent = self._path(key).parent
        while parent != self.folder and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def lock(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / LOCK_KEY, "a+", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = Lease.read(handle.read(MAX_LEASE_BYTES + 1).encode("utf-8", "replace"),
                                str(self.folder))
            handle.close()
            raise DeployBusy(f"another deploy to {self.folder} is running "
                             f"({holder.describe()}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(Holder.mine().to_json())
        handle.flush()
        self._lock_file = handle

    def renew(self) -> None:
        return None  # the kernel holds the lock for as long as this process lives

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None


class _Refused(DeployFailed):
    """The gateway answered with an S3 error (``code``: NoSuchKey, PreconditionFailed...)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Got:
    data: bytes
    tag: str
    age: float | None
    """Seconds since the object was last written, by the gateway's clock (None: unknown)."""


class S3Store:
    """A bucket and a key prefix. boto3 finds credentials itself (environment variables,
    ~/.aws, a named profile); duopod never sees them in a form it could print."""

    def __init__(self, target: DeployTarget, deadline: float = DEPLOY_DEADLINE) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise DuopodError("deploying to S3 needs boto3: pip install 'duopod[deploy]'"
                              ) from None
        self.bucket = target.bucket
        self.deadline = deadline
        try:
            session = boto3.session.Session(profile_name=target.profile)
            self.client: Any = session.client(
                "s3", endpoint_url=target.endpoint_url, region_name=target.region,
                config=Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                              retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
                              s3={"addressing_style": "path"} if target.endpoint_url else None))
        except Exception as exc:  # a profile that does not exist, an endpoint boto refuses
            raise self._failure("setting up the client", exc) from None
        self._ends = time.monotonic() + deadline  # the gateway's time: from the first request
        self.prefix = f"{target.prefix}/" if target.prefix else ""
        self._lease: Holder | None = None
        self._lease_tag = ""
        self._renewed = 0.0

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _failure(self, what: str, exc: BaseException) -> DuopodError:
        """One line for any failure of boto3, botocore or the socket under them."""
        from botocore.exceptions import BotoCoreError, ClientError
        from urllib3.exceptions import HTTPError

        if isinstance(exc, DuopodError):
            return exc
        if not isinstance(exc, ClientError | BotoCoreError | HTTPError | OSError | ValueError):
            raise exc  # not the gateway's doing: a bug, shown as one
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", "?"))
            return _Refused(f"S3 refused {what} in bucket {self.bucket!r}: "
                            f"{_printable(code)}", code)
        detail = re.sub(r"[a-z][a-z0-9+.-]*://\S+", lambda m: redact_url(m.group()),
                        " ".join(str(exc).split()))  # no password of an endpoint's URL
        return DeployFailed(f"S3 {what} failed: {_printable(detail, 300) or type(exc).__name__}")

    def _request(self, what: str, call: Callable[[], Any], size: int = 0, final: bool = False
                 ) -> Any:
        """``call()`` within the request's own deadline and what is left of the deploy's
        (``final``: the lock's release, which gets ``UNLOCK_SECONDS`` whatever is left).

        botocore cannot be interrupted, so the call runs on a daemon thread and is left
        behind if it overruns: a gateway that drips an answer a byte at a time cannot hold
        the deploy (the command ends soon after; a thread left behind dies with it)."""
        limit = REQUEST_SECONDS + size / MIN_RATE
        if final:
            limit = UNLOCK_SECONDS
        else:
            left = self._ends - time.monotonic()
            if left <= 0:
                raise DeployFailed(f"S3 {what}: the deploy ran past its deadline of "
                                   f"{self.deadline:g} s (--deadline); the feed was not "
                                   "replaced: deploy again to send the rest")
            limit = min(limit, left)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = call()
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=run, name=f"duopod-s3 {what}", daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():
            raise DeployFailed(f"S3 {what}: no answer from the gateway within {limit:.0f} s")
        if "error" in outcome:
            error = outcome["error"]
            if not isinstance(error, Exception):
                raise error
            raise self._failure(what, error) from None
        return outcome.get("value")

    def _call(self, what: str, function: Any, arguments: dict[str, Any], *, size: int = 0,
              final: bool = False) -> Any:
        return self._request(what, lambda: function(Bucket=self.bucket, **arguments), size,
                             final)

    def listing(self) -> dict[str, Remote]:
        found: dict[str, Remote] = {}
        token: dict[str, str] = {}
        while True:
            page = self._call("a listing", self.client.list_objects_v2,
                              {"Prefix": self.prefix, **token})
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix):]
                if key and not hidden(key):
                    found[key] = Remote(int(item["Size"]), str(item["ETag"]).strip('"'))
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> str:
        with path.open("rb") as body:
            return self._put(key, body, content_type, cache_control, path.stat().st_size)

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str
                  ) -> str:
        return self._put(key, data, content_type, cache_control, len(data))

    def _put(self, key: str, body: Any, content_type: str, cache_control: str, size: int,
             **conditions: str) -> str:
        reply = self._call(f"writing {key}", self.client.put_object, {
            "Key": self._key(key), "Body": body, "ContentType": content_type,
            "CacheControl": cache_control, **conditions}, size=size)
        return str(reply["ETag"]).strip('"')

    def get_bytes(self, key: str) -> bytes | None:
        got = self._get(key, MAX_MANIFEST_BYTES)
        return None if got is None else got.data

    def _get(self, key: str, limit: int, final: bool = False) -> _Got | None:
        def fetch() -> _Got:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            if int(reply.get("ContentLength") or 0) > limit:
                raise DeployFailed(f"S3 {key} is larger than {limit:,} bytes; not read")
            data = reply["Body"].read(limit + 1)
            if len(data) > limit:
                raise DeployFailed(f"S3 {key} is larger than {limit:,} bytes; not read")
            return _Got(data, str(reply["ETag"]).strip('"'), _age(reply))

        try:
            got: _Got = self._request(f"reading {key}", fetch, final=final)
        except _Refused as exc:
            if exc.code in ("NoSuchKey", "404"):
                return None
            raise
        return got

    def delete(self, key: str) -> None:
        self._call(f"deleting {key}", self.client.delete_object, {"Key": self._key(key)})

    def _write_lease(self, **condition: str) -> bool:
        assert self._lease is not None
        self._lease = replace(self._lease, expires=time.time() + LEASE_SECONDS)
        body = self._lease.to_json().encode()
        try:
            reply = self._call("writing the deploy lock", self.client.put_object, {
                "Key": self._key(LOCK_KEY), "Body": body, "ContentType": "application/json",
                "CacheControl": "no-store", **condition}, size=len(body))
        except _Refused as exc:
            if exc.code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        self._lease_tag = str(reply["ETag"]).strip('"')
        self._renewed = time.time()
        return True

    def lock(self) -> None:
        self._lease = Holder.mine()
        if self._write_lease(IfNoneMatch="*"):
            return
        current = self._get(LOCK_KEY, MAX_LEASE_BYTES)
        where = f"s3://{self.bucket}/{self.prefix}"
        if current is None:  # released between our two calls
            if self._write_lease(IfNoneMatch="*"):
                return
            raise DeployBusy(f"another deploy to {where} started just now; try again when "
                             "it ends")
        holder = Lease.read(current.data, where)
        lapsed = current.age is not None and current.age > LEASE_SECONDS
        expired = holder.expires is not None and holder.expires < time.time()
        # taking over a stale lease only if it is still the one we read: of two deployers
        # finding the same stale lease, one wins
        if (lapsed or expired or not holder.alive_here()) and \
                self._write_lease(IfMatch=f'"{current.tag}"'):
            return
        raise DeployBusy(f"another deploy to {where} is running ({holder.describe()}); try "
                         "again when it ends")

    def renew(self) -> None:
        if self._lease is None or time.time() - self._renewed < LEASE_SECONDS / 5:
            return
        if not self._write_lease(IfMatch=f'"{self._lease_tag}"'):
            raise DeployBusy("the deploy lock was taken over (this deploy was stalled "
                             "longer than its lease); stopping before the feed")

    def unlock(self) -> None:
        """Remove the lease if it is still ours (each request within ``UNLOCK_SECONDS``,
        whatever is left of the deadline); one never confirmed written is left to lapse."""
        if self._lease is None:
            return
        self._lease = None
        if not self._lease_tag:
            return
        current = self._get(LOCK_KEY, MAX_LEASE_BYTES, final=True)
        if current is not None and current.tag == self._lease_tag:
            self._call("removing the deploy lock", self.client.delete_object,
                       {"Key": self._key(LOCK_KEY)}, final=True)
        self._lease_tag = ""


def _age(reply: dict[str, Any]) -> float | None:
    """Seconds between an object's Last-Modified and the answer's Date, both the gateway's."""
    headers = reply.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        now = email.utils.parsedate_to_datetime(headers["date"]).timestamp()
        return now - float(reply["LastModified"].timestamp())
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def open_store(target: DeployTarget, deadline: float = DEPLOY_DEADLINE) -> Store:
    if target.scheme == "s3":
        return S3Store(target, deadline)
    assert target.folder is not None
    return FolderStore(target.folder)
