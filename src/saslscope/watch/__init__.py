"""``logs watch``: live log files and journald followed into the detection engine.

:mod:`saslscope.maillog.follow` reads the files; :class:`~saslscope.watch.pipeline.Watcher`
turns their lines into signals, feeds the engine and hands each finding to its outputs;
:mod:`.checkpoint` keeps where reading stood (and the engine's windows) across restarts.
"""
