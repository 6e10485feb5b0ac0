"""The shapes an episode can take (``duopod draft --format``): each a plan of movements in
order, what each host stands for in it, and a default length. The writers' room asks the
model for exactly these movements, tells each host their stance in every prompt, and the
length pass holds the result to ``--minutes`` (the format's default when not given).

The four named after what producers ask for (NotebookLM's Brief, Deep Dive, Critique and
Debate) are written from what the article says: a debate's sides argue with the article's
facts, a critique weighs the article's own evidence; the grounding check holds every one
of them to the article."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class Format:
    name: str
    summary: str
    minutes: float
    """The default spoken length."""
    movements: tuple[str, ...]
    """What each movement does, in order (the plan asks for exactly these)."""
    stances: tuple[str, str]
    """The first host's and the second host's part in this format ("" : their persona)."""


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("discussion", "the show's usual: two hosts walk through the news", 5.0,
           ("background", "the conflict", "the impact", "what comes next"), ("", "")),
    Format("brief", "the news in two minutes: what happened and why it matters", 2.0,
           ("what happened: the key facts", "why it matters"),
           ("states the facts plainly and briefly",
            "asks the one question a listener would ask, answered from the article")),
    Format("deep-dive", "a long, careful walk through everything the article holds", 10.0,
           ("background: how we got here", "what happened, in detail",
            "the numbers and names that matter", "the sides and what each says",
            "what comes next"),
           ("guides the listener through the story and explains each step",
            "asks how and why, and draws out the details")),
    Format("debate", "two hosts argue opposite sides with the article's facts", 6.0,
           ("the question at stake", "the case for", "the case against",
            "answering each other", "where each lands"),
           ("argues for: makes the strongest case the article's facts allow",
            "argues against: makes the strongest counter-case the article's facts allow")),
    Format("critique", "the article itself examined: its claims, evidence and gaps", 5.0,
           ("what the article claims", "the evidence it gives",
            "what it leaves out or overstates", "the verdict"),
           ("presents the article's claims fairly, as the article makes them",
            "weighs the evidence and says plainly what the article does not show")),
)}
DEFAULT_FORMAT = "discussion"


def get_format(name: str | None) -> Format:
    """The format ``name`` names (the default for None); InputError listing the formats."""
    key = (name or DEFAULT_FORMAT).strip().lower().replace(" ", "-").replace("_", "-")
    try:
        return FORMATS[key]
    except KeyError:
        raise InputError(f"unknown --format {name!r} (choose from "
                         f"{', '.join(FORMATS)})") from None


def stance_lines(fmt: Format, hosts: tuple[str, ...]) -> str:
    """The hosts' stances for the system prompt ("" when the format leaves them to the
    personas)."""
    said = [f"{host} {stance}" for host, stance in zip(hosts, fmt.stances, strict=False)
            if stance]
    return f" This episode is a {fmt.name}: " + "; ".join(said) + "." if said else ""
