"""What ``duopod check`` adds for a new show: the engine a build will use, validated
(``--engine``), how the turns will meet in the mix (backchannels, interruptions), and the
warnings a build would turn into errors or a listener would hear
(a one-off speaker read by the previous host, Latin-letter tokens the engine will spell,
placeholders still in show.toml). Kept out of app.py so the commands there stay thin."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from ..script.model import Script
from ..show.workspace import Workspace
from ..speech.engines import Notify

__all__ = ["print_check_extras"]


def print_check_extras(out: Console, workspace: Workspace, script: Script,
                       engine: str | None, notice: Notify) -> None:
    """The lines ``check`` prints after a script's outline (InputError when ``engine`` is
    one a build of the script would refuse)."""
    if engine:
        from ..speech.choice import engine_for_scripts

        name = engine_for_scripts(workspace, [script], engine, notice)
        out.print(f"  engine    {escape(name)}")
    _print_exchanges(out, workspace, script)
    for speaker in script.one_off_speakers:
        out.print(f"  warning   line {speaker.line}: {speaker.message()} (a build refuses it)",
                  markup=False, highlight=False)
    _print_lexicon_suggestions(out, workspace, script)


def _print_exchanges(out: Console, workspace: Workspace, script: Script) -> None:
    """The turns laid under the other host and the turns cut off, by line (what the mix
    will overlap), and how many answers and quick exchanges the timing finds."""
    from ..script.exchange import Meeting, meetings

    mix = workspace.show.mix
    found = meetings(script, backchannels=mix.backchannels, interruptions=mix.interruptions)
    lines = {turn.index: turn.line for turn in script.turns}
    parts = []
    for kind, word in ((Meeting.BACKCHANNEL, "backchannel"),
                       (Meeting.INTERRUPTION, "interruption"), (Meeting.ANSWER, "answer"),
                       (Meeting.QUICK, "quick exchange"), (Meeting.LONG, "after a long turn")):
        at = [lines[m.index] for m in found if m.kind is kind]
        if not at:
            continue
        many = "s" if len(at) > 1 else ""
        named = word if " " in word and word.startswith("after") else word + many
        where = (f" (line{many} {', '.join(str(line) for line in at)})"
                 if kind in (Meeting.BACKCHANNEL, Meeting.INTERRUPTION) else "")
        parts.append(f"{len(at)} {named}{where}")
    if parts:
        out.print(f"  meetings  {', '.join(parts)}", markup=False, highlight=False)


def _print_lexicon_suggestions(out: Console, workspace: Workspace, script: Script) -> None:
    from ..speech.lexicon import language_of, lexicon_entries
    from ..speech.suggest import lexicon_suggestions
    from ..text import split_sentences

    language = language_of(workspace, script)
    texts = [s for turn in script.turns for s in split_sentences(turn.text)]
    for suggestion in lexicon_suggestions(lexicon_entries(workspace, script), language, texts):
        out.print(f"  lexicon?  {suggestion.message(language)}", markup=False,
                  highlight=False)
