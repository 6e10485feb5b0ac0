"""What a producer asks of a build, as one small frozen object every executor carries (it
travels to worker processes by pickling and to queue workers as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import InputError
from ..script.parse import Overrides
from ..shapes import ShapeError, shaped

__all__ = ["BuildOptions"]


@dataclass(frozen=True)
class BuildOptions:
    engine: str = "auto"
    use_cache: bool = True
    cache_only: bool = False
    """Mix from cached speech only (``duopod mix``): a turn not in the cache is an error."""
    concurrency: int = 4
    """Requests to a speech service at once, in total across every executor's workers."""
    retry_for: float = 180.0
    """Seconds to keep retrying a network engine's request (timeouts, dropped connections,
    throttling, outages) from its first failure."""
    force: bool = False
    encoding: str | None = None
    overrides: Overrides = field(default_factory=Overrides)
    deploy: str | None = None
    """Deploy the site after landing: a ``[deploy.NAME]`` target, or "" for the show's only
    one; None: do not. On the queue the publish job deploys (one deployer at a time: the
    target's lock)."""
    verify: bool = False
    """Hear each landed episode afterwards (``duopod.verify``), before any deploy: a
    flagged sentence makes the exit code 1 and holds the deploy back."""

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "overrides": asdict(self.overrides)}

    @classmethod
    def from_json(cls, data: object) -> BuildOptions:
        """What ``to_json`` wrote, checked field by field: InputError in one line naming
        the field for anything else (a queue message from a stranger, a damaged one)."""
        try:
            return shaped(cls, data)
        except ShapeError as exc:
            raise InputError(f"build options: {exc}") from None
