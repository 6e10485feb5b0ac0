"""``duopod studio``: the local web app over the show (``duopod.studio``), started from
the show's folder. Loopback needs no token; any other bind prints one once (or takes
$DUOPOD_STUDIO_TOKEN), and every request must carry it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .display import out, plain

if TYPE_CHECKING:
    from ..studio import Studio


def studio(
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="The show's folder (default: the current one or above).")]
    = None,
    host: Annotated[str, typer.Option(
        help="Address to listen on. Beyond loopback every request needs the access token.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")]
    = 8765,
    engine: Annotated[str, typer.Option(help="The engine the pages start with.")] = "espeak",
) -> None:
    """Edit, hear, build and publish episodes in a browser.

    Example: duopod studio   (then open http://127.0.0.1:8765/)
    """
    from ..show.workspace import find_workspace
    from ..studio import run
    from ..studio.security import TOKEN_ENV, is_loopback, new_token

    root = find_workspace(workspace)
    token = None if is_loopback(host) else (os.environ.get(TOKEN_ENV) or new_token())

    def ready(started: Studio) -> None:
        if started.token is None:
            plain(out, f"studio for {root} at {started.url}  (Ctrl-C stops)")
        else:
            plain(out, f"studio for {root} at {started.url}?token={started.token}  "
                       "(the token is needed for every request; Ctrl-C stops)")
        out.file.flush()

    run(root, host, port, token=token, engine=engine, ready=ready)
