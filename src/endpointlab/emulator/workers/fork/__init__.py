"""The emulator's instances: workers forked from a preloaded fork server, driven over sockets.

``host.WorkerHost`` starts workers (``framed_child``) from the fork server (``zygote``, through
``forking``) and talks to them in frames (``frames``); ``cpu_quota`` and ``memory_limit`` hold an
instance to its share of the host; ``logfile`` is a variant's log; ``process_tree`` owns every
process a model starts. Nothing is imported here, so the fork server loads only what it needs.
"""
