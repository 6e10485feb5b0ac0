"""The floor every stage stands on for what duopod keeps on disk.

- ``atomic``: a file is written whole or not at all (a temporary name, fsync, a rename).
- ``locks``: one writer at a time, by kernel locks a crash cannot leave behind: the site
  lock (everything that changes or reads ``episodes/`` as a whole), one build per script.
- ``owned``: the one door for every file the producer owns (scripts, ``lexicon.toml``,
  ``show.toml``, voice profiles): written atomically, and only over the version the
  writer read, so two writers never lose each other's change.
- ``jsoncache``: small derived results named by the hash of what they derive from.
- ``paths``: a path a producer writes in a file stays inside the show's folder.

No stage is imported here: every stage imports this.
"""
