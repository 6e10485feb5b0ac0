"""The episode store: what has been published, kept so that the site is valid whatever
happens.

- ``record``: an episode's record (``episode.json``), the one source every page and feed
  is rendered from; ``kept``: feed items kept from the published feed.
- ``episodes``: where records live (``episodes/``, ``.duopod/pending/``,
  ``.duopod/unpublished/``), the listing of them all, an episode's identity (slug, GUID).
- ``numbering``: episode numbers in publication order.
- ``journal``: every change to ``episodes/`` written down before it is made, so a killed
  publish is finished or undone (``publish.recovery``); ``swap``: a folder replaced in one
  step.

Nothing here renders (that is ``site``) or decides what to publish (that is ``publish``):
the store is plain records and the transactions that keep them whole.
"""
