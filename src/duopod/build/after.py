"""What follows the landings of a run, whatever executor ran it: hearing the episodes that
landed (``--verify``) and deploying the site (``--deploy``; on the queue, the publish job
deploys)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..show.workspace import Workspace
from .outcome import BuildOutcome
from .steps import Notice

if TYPE_CHECKING:
    from ..deploy import DeployReport
    from ..verify import VerifyReport

__all__ = ["deploy_site", "verify_landed"]


def verify_landed(workspace: Workspace, outcomes: Sequence[BuildOutcome],
                  notice: Notice | None = None) -> tuple[VerifyReport, ...]:
    """Hear every episode that landed as a listener does (``duopod.verify``, Whisper);
    VerifyUnavailable without the ``verify`` extra."""
    from ..verify import listening_line, verify_episode

    reports = []
    for outcome in outcomes:
        if outcome.ok and outcome.slug:
            if notice is not None:
                notice(listening_line(outcome.slug))
            reports.append(verify_episode(workspace, outcome.slug))
    return tuple(reports)


def deploy_site(workspace: Workspace, target: str) -> DeployReport:
    """The site as it now is, to ``target`` ("" for the show's only one): after every
    landing, so the feed that goes up names only episodes that are whole."""
    from ..deploy import deploy_show

    return deploy_show(workspace, target or None)
