"""What ``duopod check`` adds for a new show: the engine a build will use, validated
(``--engine``), and the warnings a build would turn into errors or a listener would hear
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
    for speaker in script.one_off_speakers:
        out.print(f"  warning   line {speaker.line}: {speaker.message()} (a build refuses it)",
                  markup=False, highlight=False)
    _print_lexicon_suggestions(out, workspace, script)


def _print_lexicon_suggestions(out: Console, workspace: Workspace, script: Script) -> None:
    from ..speech.lexicon import language_of, lexicon_entries
    from ..speech.suggest import lexicon_suggestions
    from ..text import split_sentences

    language = language_of(workspace, script)
    texts = [s for turn in script.turns for s in split_sentences(turn.text)]
    for suggestion in lexicon_suggestions(lexicon_entries(workspace, script), language, texts):
        out.print(f"  lexicon?  {suggestion.message(language)}", markup=False,
                  highlight=False)
