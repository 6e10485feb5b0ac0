"""Kill a process just before its N-th change to the file system (a rename, an exchange,
an unlink, a mkdir, a rmdir, a file created through os.open), as SIGKILL would at that
moment: no ``finally`` runs. Test-only: duopod's own code has no hook.

As a program: ``python tests/killpoints.py STEP duopod-arguments...`` runs the CLI with the
kill installed (STEP 0: never) and prints ``steps: N`` on stderr when it finishes.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_MUTATIONS = ("rename", "replace", "unlink", "rmdir", "mkdir")


class Counter:
    def __init__(self, kill_at: int) -> None:
        self.kill_at = kill_at
        self.count = 0

    def step(self) -> None:
        self.count += 1
        if self.count == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(self, function: Callable[..., Any], *, only_creating: bool = False
             ) -> Callable[..., Any]:
        """``only_creating``: os.open counts when it may create a file; a mkdir of a
        folder that exists changes nothing and does not count."""
        exists = os.path.exists

        @functools.wraps(function)
        def counted(*args: Any, **kwargs: Any) -> Any:
            flags = args[1] if len(args) > 1 else kwargs.get("flags", 0)
            no_op = function.__name__ == "mkdir" and "dir_fd" not in kwargs and exists(args[0])
            if not no_op and (not only_creating or flags & os.O_CREAT):
                self.step()
            return function(*args, **kwargs)
        return counted


def install(kill_at: int) -> Counter:
    """Count (and kill at ``kill_at``) from now on, in this process."""
    from duopod.store import swap

    counter = Counter(kill_at)
    for name in _MUTATIONS:
        setattr(os, name, counter.wrap(getattr(os, name)))
    os.open = counter.wrap(os.open, only_creating=True)
    swap.exchange = counter.wrap(swap.exchange)  # type: ignore[method-assign]
    return counter


def main() -> None:
    counter = install(int(sys.argv[1]))
    sys.argv = ["duopod", *sys.argv[2:]]
    from duopod.cli.app import main as duopod

    try:
        duopod()
    finally:
        print(f"steps: {counter.count}", file=sys.stderr)


if __name__ == "__main__":
    main()
