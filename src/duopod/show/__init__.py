"""The show's configuration as typed objects: ``show.toml`` and the voice profiles
(``workspace``), the typed reads every table goes through (``fields``) and Apple's rules for
categories and cover art (``apple``).

A :class:`~duopod.show.workspace.Workspace` names every folder duopod writes: the site
(``episodes/``), the speech cache and the private state folder (``.duopod/``) beside it.
"""
