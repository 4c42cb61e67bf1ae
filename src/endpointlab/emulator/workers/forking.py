"""Worker processes from the fork server, without the emulator's ``__main__`` and nothing to import.

``WorkerProcess`` is what the host starts: multiprocessing's fork-server process, launched by a
``Popen`` that leaves the parent's ``__main__`` out of the preparation data (a worker runs
``serve_frames`` and needs nothing of the script that started the emulator, whose imports, a
test runner's or a benchmark's, would otherwise be repeated in every worker). The fork server
preloads this module, so unpickling a ``WorkerProcess`` in a new worker imports nothing.
"""

from __future__ import annotations

import io
import os
from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util
from typing import Any


class WorkerPopen(popen_forkserver.Popen):
    """``popen_forkserver.Popen`` minus the parent's ``__main__``."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_name", None)
        prep_data.pop("init_main_from_path", None)
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        fds: list[int] = self._fds  # type: ignore[attr-defined]
        self.sentinel, w = forkserver.connect_to_new_process(fds)
        parent_w = os.dup(w)  # the child's sentinel of its parent, as multiprocessing keeps it
        close_fds = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as pipe:
            pipe.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class WorkerProcess(context.ForkServerProcess):
    """A fork-server process launched by ``WorkerPopen``."""

    @staticmethod
    def _Popen(process_obj: Any) -> WorkerPopen:  # noqa: N802 (multiprocessing's name)
        return WorkerPopen(process_obj)
