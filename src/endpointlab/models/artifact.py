"""Unpack a ``model.tar.gz`` into a model directory as SageMaker does, refusing unsafe archives.

SageMaker extracts ``ModelDataUrl`` into ``/opt/ml/model`` before the container starts. Every
entry is checked before anything is written: absolute paths, ``..`` components, links and device
files are refused, so nothing can land outside the model directory.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from endpointlab.models.errors import ArtifactError


def extract_model_archive(archive: Path, model_dir: Path) -> Path:
    """Extract ``archive`` into ``model_dir`` (created if missing) and return ``model_dir``.

    ``archive`` may also be a directory that already holds the model files; it is copied.
    Raises ArtifactError with a one-line reason when the archive is unusable or unsafe.
    """
    if archive.is_dir():
        shutil.copytree(archive, model_dir, dirs_exist_ok=True, symlinks=False)
        return model_dir
    if not archive.is_file():
        raise ArtifactError(f"model artifact {archive} does not exist")
    try:
        with _open_tar(archive) as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member)
            model_dir.mkdir(parents=True, exist_ok=True)
            # The "data" filter repeats our checks and also drops set-uid bits and odd modes.
            tar.extractall(model_dir, members=members, filter="data")
    except ArtifactError:
        raise
    except (tarfile.TarError, EOFError, OSError, io.UnsupportedOperation) as exc:
        raise ArtifactError(
            f"model artifact {archive} is not a readable tar.gz archive ({exc})"
        ) from exc
    return model_dir


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
