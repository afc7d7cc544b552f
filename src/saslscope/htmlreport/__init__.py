"""``logs report --html``: one self-contained page that shows a break-in at a glance.

:mod:`.data` folds an analysis and the engine's findings into per-account and overview series;
:mod:`.svg` draws them as inline SVG; :mod:`.page` writes the page (inline CSS and JS allowed by
hash in a strict Content-Security-Policy, every log-derived string escaped).
"""
