"""The two kinds of place a show is deployed to, behind one small interface: an
S3-compatible bucket (through boto3) and a plain folder (a web root or a mounted share).

Each lists what it holds with a tag that changes whenever an object does (the S3 ETag; a
file's size and modification time), writes one object whole or not at all (an S3 PUT is
atomic; a file goes through a temporary name and a rename), and holds the one-deployer
lock: a lease object written only if absent (S3 conditional writes) or a kernel lock on a
file (released by the kernel when a deployer is killed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from ..disk.locks import process_alive
from ..errors import DuopodError
from .targets import DeployTarget

LOCK_KEY = ".duopod-deploy.lock"
LEASE_SECONDS = 300.0
"""How long an S3 lease lasts without renewal: a deployer killed on another machine holds
the show for at most this long (one killed on this machine, not at all)."""


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


def _holder() -> dict[str, Any]:
    return {"owner": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid(),
            "since": time.time()}


def _describe(holder: dict[str, Any]) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(holder.get("since", 0))))
    return f"pid {holder.get('pid')} on {holder.get('host')} since {since}"


def _alive_here(holder: dict[str, Any]) -> bool:
    """False when the holder ran on this machine and its process is gone (killed)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        pid = int(holder.get("pid", 0))
    except ValueError:
        return True
    return process_alive(pid)


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
            try:
                holder = json.loads(handle.read() or "{}")
            except ValueError:
                holder = {}
            handle.close()
            raise DeployBusy(f"another deploy to {self.folder} is running "
                             f"({_describe(holder)}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder()))
        handle.flush()
        self._lock_file = handle

    def renew(self) -> None:
        return None  # the kernel holds the lock for as long as this process lives

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None


class S3Store:
    """A bucket and a key prefix. boto3 finds credentials itself (environment variables,
    ~/.aws, a named profile); duopod never sees them in a form it could print."""

    def __init__(self, target: DeployTarget) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise DuopodError("deploying to S3 needs boto3: pip install 'duopod[deploy]'"
                              ) from None
        session = boto3.session.Session(profile_name=target.profile)
        self.client: Any = session.client(
            "s3", endpoint_url=target.endpoint_url, region_name=target.region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          s3={"addressing_style": "path"} if target.endpoint_url else None))
        self.bucket = target.bucket
        self.prefix = f"{target.prefix}/" if target.prefix else ""
        self._lease: dict[str, Any] | None = None
        self._lease_tag = ""
        self._renewed = 0.0

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _call(self, what: str, function: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            raise DeployFailed(f"S3 refused {what} in bucket {self.bucket!r}: {code}") from None
        except BotoCoreError as exc:  # no credentials, no connection: no secret in these
            raise DeployFailed(f"S3 {what} failed: {exc}") from None

    def listing(self) -> dict[str, Remote]:
        found: dict[str, Remote] = {}
        token: dict[str, str] = {}
        while True:
            page = self._call("a listing", self.client.list_objects_v2, Prefix=self.prefix,
                              **token)
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix):]
                if key and not hidden(key):
                    found[key] = Remote(int(item["Size"]), str(item["ETag"]).strip('"'))
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> str:
        with path.open("rb") as body:
            return self._put(key, body, content_type, cache_control)

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str
                  ) -> str:
        return self._put(key, data, content_type, cache_control)

    def _put(self, key: str, body: Any, content_type: str, cache_control: str,
             **conditions: str) -> str:
        reply = self._call(f"writing {key}", self.client.put_object, Key=self._key(key),
                           Body=body, ContentType=content_type, CacheControl=cache_control,
                           **conditions)
        return str(reply["ETag"]).strip('"')

    def get_bytes(self, key: str) -> bytes | None:
        got = self._get(key)
        return None if got is None else got[0]

    def _get(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return reply["Body"].read(), str(reply["ETag"]).strip('"')
        except self.client.exceptions.NoSuchKey:
            return None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            raise DeployFailed(f"S3 refused reading {key} in bucket {self.bucket!r}: "
                               f"{code}") from None
        except BotoCoreError as exc:
            raise DeployFailed(f"S3 reading {key} failed: {exc}") from None

    def delete(self, key: str) -> None:
        self._call(f"deleting {key}", self.client.delete_object, Key=self._key(key))

    def _write_lease(self, **condition: str) -> bool:
        from botocore.exceptions import ClientError

        assert self._lease is not None
        self._lease["expires"] = time.time() + LEASE_SECONDS
        try:
            reply = self.client.put_object(
                Bucket=self.bucket, Key=self._key(LOCK_KEY), Body=json.dumps(self._lease),
                ContentType="application/json", CacheControl="no-store", **condition)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise DeployFailed(f"S3 refused the deploy lock in bucket {self.bucket!r}: "
                               f"{code}") from None
        self._lease_tag = str(reply["ETag"]).strip('"')
        self._renewed = time.time()
        return True

    def lock(self) -> None:
        self._lease = _holder()
        if self._write_lease(IfNoneMatch="*"):
            return
        current = self._get(LOCK_KEY)
        if current is None:  # released between our two calls
            if self._write_lease(IfNoneMatch="*"):
                return
            raise DeployBusy(f"another deploy to s3://{self.bucket}/{self.prefix} started "
                             "just now; try again when it ends")
        data, tag = current
        try:
            holder = json.loads(data)
        except ValueError:
            holder = {}
        stale = float(holder.get("expires", 0)) < time.time() or not _alive_here(holder)
        # taking over a stale lease only if it is still the one we read: of two deployers
        # finding the same stale lease, one wins
        if stale and self._write_lease(IfMatch=f'"{tag}"'):
            return
        raise DeployBusy(f"another deploy to s3://{self.bucket}/{self.prefix} is running "
                         f"({_describe(holder)}); try again when it ends")

    def renew(self) -> None:
        if self._lease is None or time.time() - self._renewed < LEASE_SECONDS / 5:
            return
        if not self._write_lease(IfMatch=f'"{self._lease_tag}"'):
            raise DeployBusy("the deploy lock was taken over (this deploy was stalled "
                             "longer than its lease); stopping before the feed")

    def unlock(self) -> None:
        if self._lease is None:
            return
        current = self._get(LOCK_KEY)
        if current is not None and current[1] == self._lease_tag:
            self.delete(LOCK_KEY)
        self._lease = None


def open_store(target: DeployTarget) -> Store:
    if target.scheme == "s3":
        return S3Store(target)
    assert target.folder is not None
    return FolderStore(target.folder)
