"""Unpack a ``model.tar.gz`` into a model directory as SageMaker does, refusing unsafe archives.

SageMaker extracts ``ModelDataUrl`` into ``/opt/ml/model`` before the container starts. Every
entry is checked before anything is written: absolute paths, ``..`` components, links and device
files are refused, so nothing can land outside the model directory. A directory given instead of
an archive follows the same rules (``model_dir_copy``). Both are capped in size and time.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from endpointlab.models.errors import ArtifactError

GIB = 1024**3
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArtifactLimits:
    """How large a model may be unpacked (bytes of files) and how long unpacking may take.

    The size is far above any model that serves from CPU workers (SageMaker's largest
    single-file artifacts are a few tens of GB); both exist so a mistaken path cannot fill the
    disk or keep an endpoint Creating for minutes.
    """

    max_bytes: int = 50 * GIB
    timeout_s: float = 600.0


class _Budget:
    """Bytes and time left while one artifact is unpacked."""

    def __init__(self, limits: ArtifactLimits) -> None:
        self.limits = limits
        self.used = 0
        self._deadline = time.monotonic() + limits.timeout_s

    def spend(self, size: int) -> None:
        self.used += size
        if self.used > self.limits.max_bytes:
            raise ArtifactError(
                f"the model artifact is larger than the limit of {_size(self.limits.max_bytes)} "
                "(serve --max-model-size)"
            )
        if time.monotonic() > self._deadline:
            raise ArtifactError(
                f"unpacking the model artifact took longer than {self.limits.timeout_s:g} s "
                "(serve --model-unpack-timeout)"
            )


def _size(count: int) -> str:
    return f"{count / GIB:g} GiB" if count >= GIB else f"{count} bytes"


def extract_model_archive(
    archive: Path, model_dir: Path, limits: ArtifactLimits | None = None
) -> Path:
    """Extract ``archive`` into ``model_dir`` (created if missing) and return ``model_dir``.

    ``archive`` may also be a directory that already holds the model files; it is copied under
    the same rules. Raises ArtifactError with a one-line reason when the artifact is unusable,
    unsafe, or over ``limits``.
    """
    budget = _Budget(limits or ArtifactLimits())
    if archive.is_dir():
        return model_dir_copy(archive, model_dir, budget)
    if not archive.is_file():
        raise ArtifactError(f"model artifact {archive} does not exist")
    try:
        with _open_tar(archive) as tar:
            members = []
            for member in tar:  # reads (and decompresses) the whole archive once
                _check_member(member)
                budget.spend(member.size if member.isfile() else 0)
                members.append(member)
            model_dir.mkdir(parents=True, exist_ok=True)
            for member in members:
                budget.spend(0)
                # The "data" filter repeats our checks and also drops set-uid bits and odd modes.
                tar.extract(member, model_dir, filter="data")
    except ArtifactError:
        raise
    except (tarfile.TarError, EOFError, OSError, io.UnsupportedOperation) as exc:
        raise ArtifactError(
            f"model artifact {archive} is not a readable tar.gz archive ({exc})"
        ) from exc
    return model_dir


def model_dir_copy(source: Path, model_dir: Path, budget: _Budget) -> Path:
    """Copy a model directory as an archive of it would unpack: regular files and directories
    only (a symbolic link, a hard-linked file or a device anywhere is refused, so nothing
    outside ``source`` is read), within the size and time budget.

    Every entry is opened relative to its parent's descriptor without following links, so a
    link swapped in during the copy is refused too. The refused entry is named only in the
    error's details: the directory is the host's, and an API answer must not list its files.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        root = os.open(source, flags | os.O_DIRECTORY)
    except OSError as exc:
        raise ArtifactError(f"the model directory cannot be read ({exc.strerror})") from exc
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        _copy_tree(root, model_dir, PurePosixPath(), budget, flags)
    finally:
        os.close(root)
    return model_dir


def _copy_tree(
    directory: int, target: Path, relative: PurePosixPath, budget: _Budget, flags: int
) -> None:
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise ArtifactError(
            f"a directory of the model directory cannot be read ({exc.strerror})",
            f"{relative or '.'}",
        ) from exc
    for name in names:
        entry = relative / name
        try:
            info = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except OSError as exc:
            raise ArtifactError(
                f"an entry of the model directory cannot be read ({exc.strerror})", str(entry)
            ) from exc
        budget.spend(0)
        if stat.S_ISLNK(info.st_mode):
            raise ArtifactError("the model directory holds a symbolic link", str(entry))
        if stat.S_ISDIR(info.st_mode):
            child = _open_entry(name, directory, flags | os.O_DIRECTORY, entry)
            try:
                (target / name).mkdir()
                _copy_tree(child, target / name, entry, budget, flags)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            if info.st_nlink > 1:
                raise ArtifactError("the model directory holds a hard-linked file", str(entry))
            _copy_file(_open_entry(name, directory, flags, entry), target / name, budget, entry)
        else:
            raise ArtifactError(
                "the model directory holds an entry that is not a regular file or directory",
                str(entry),
            )


def _open_entry(name: str, directory: int, flags: int, entry: PurePosixPath) -> int:
    try:
        return os.open(name, flags, dir_fd=directory)
    except OSError as exc:  # ELOOP: it became a link since it was looked at
        raise ArtifactError(
            f"an entry of the model directory cannot be opened ({exc.strerror})", str(entry)
        ) from exc


def _copy_file(source: int, target: Path, budget: _Budget, entry: PurePosixPath) -> None:
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            raise ArtifactError("the model directory changed while it was copied", str(entry))
        with os.fdopen(source, "rb", closefd=False) as reader, target.open("xb") as writer:
            while chunk := reader.read(_CHUNK):
                budget.spend(len(chunk))
                writer.write(chunk)
        os.chmod(target, stat.S_IMODE(info.st_mode) & 0o755 | 0o600)
    except OSError as exc:
        raise ArtifactError(
            f"a file of the model directory cannot be copied ({exc.strerror})", str(entry)
        ) from exc
    finally:
        os.close(source)


def _open_tar(archive: Path) -> tarfile.TarFile:
    """A gzip tar (what SageMaker requires), or an uncompressed one."""
    with archive.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    try:
        return tarfile.open(archive, mode="r:gz" if gzipped else "r:")
    except tarfile.ReadError as exc:
        kind = "gzip data is not a tar archive" if gzipped else "neither gzip nor tar"
        raise tarfile.ReadError(f"{kind}: {exc}") from exc


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or os.path.isabs(name):
        raise ArtifactError(f"model artifact entry {name!r} is an absolute path")
    if ".." in path.parts:
        raise ArtifactError(f"model artifact entry {name!r} escapes the model directory")
    if member.issym() or member.islnk():
        raise ArtifactError(f"model artifact entry {name!r} is a link, which is not allowed")
    if not (member.isfile() or member.isdir()):
        raise ArtifactError(f"model artifact entry {name!r} is not a regular file or directory")


def pack_model_dir(model_dir: Path, archive: Path) -> Path:
    """Write ``model_dir``'s files into a gzip tar with the files at its root, as SageMaker expects.

    Entries are sorted and their times and owners fixed, so equal inputs give equal archives.
    """
    archive.parent.mkdir(parents=True, exist_ok=True)
    paths = sorted(p for p in model_dir.rglob("*") if p.is_file() or p.is_dir())
    with (
        archive.open("wb") as raw,
        _fixed_gzip(raw) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in paths:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(model_dir).as_posix())
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_file():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return archive


def _fixed_gzip(raw: io.BufferedWriter) -> io.BufferedIOBase:
    import gzip

    return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="")
