"""Model artifacts: unpacking model.tar.gz safely and refusing broken or unusable ones."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from endpointlab.models.artifact import ArtifactLimits, extract_model_archive, pack_model_dir
from endpointlab.models.contract import load_handler
from endpointlab.models.errors import ArtifactError
from tests.unit import model_fixtures as fx


def tar_with(path: Path, *entries: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for entry in entries:
            if entry.isfile():
                entry.size = len(data)
                tar.addfile(entry, io.BytesIO(data))
            else:
                tar.addfile(entry)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry("../escaped.txt"), "escapes the model directory"),
        (entry("code/../../escaped.txt"), "escapes the model directory"),
        (entry("/tmp/escaped-absolute.txt"), "absolute path"),
        (entry("link", tarfile.SYMTYPE, "../../escaped.txt"), "is a link"),
        (entry("hard", tarfile.LNKTYPE, "/etc/passwd"), "is a link"),
        (entry("fifo", tarfile.FIFOTYPE), "not a regular file"),
    ],
)
def test_unsafe_entries_are_refused_and_nothing_is_written(
    tmp_path: Path, bad: tarfile.TarInfo, message: str
) -> None:
    archive = tar_with(tmp_path / "model.tar.gz", entry("model.joblib"), bad)
    model_dir = tmp_path / "deep" / "model"
    with pytest.raises(ArtifactError, match=message):
        extract_model_archive(archive, model_dir)
    assert not model_dir.exists()
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "deep" / "escaped.txt").exists()


@pytest.mark.parametrize("content", [b"", b"plain text, not an archive", b"\x1f\x8b\x08garbage"])
def test_not_a_tar_gz_is_refused(tmp_path: Path, content: bytes) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(ArtifactError, match=r"not a readable tar\.gz"):
        extract_model_archive(archive, tmp_path / "model")


def test_missing_archive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        extract_model_archive(tmp_path / "nope.tar.gz", tmp_path / "model")


def test_archive_without_a_model_file_is_refused_at_load(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "README.txt").write_text("no model here")
    model_dir = extract_model_archive(pack_model_dir(src, tmp_path / "m.tar.gz"), tmp_path / "m")
    with pytest.raises(ArtifactError, match=r"no model file found .*README.txt"):
        load_handler(model_dir, {})


def test_unknown_format_is_refused_at_load(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.pkl").write_bytes(b"this is not a pickle")
    with pytest.raises(ArtifactError, match=r"could not load model file model.pkl"):
        load_handler(extract_model_archive(src, tmp_path / "m"), {})


def test_several_model_files_are_refused_at_load(tmp_path: Path) -> None:
    fx.write_sklearn(tmp_path / "src")
    fx.write_onnx(tmp_path / "src")
    with pytest.raises(ArtifactError, match="several model files"):
        load_handler(extract_model_archive(tmp_path / "src", tmp_path / "m"), {})


def test_pickled_object_without_predict_is_refused(tmp_path: Path) -> None:
    import joblib

    (tmp_path / "src").mkdir()
    joblib.dump({"not": "a model"}, tmp_path / "src" / "model.joblib")
    with pytest.raises(ArtifactError, match="has no predict method"):
        load_handler(extract_model_archive(tmp_path / "src", tmp_path / "m"), {})


def test_broken_user_code_is_refused(tmp_path: Path) -> None:
    code = tmp_path / "src" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return 1\nsyntax error\n")
    with pytest.raises(ArtifactError, match=r"importing code/inference\.py failed: SyntaxError"):
        load_handler(extract_model_archive(tmp_path / "src", tmp_path / "m"), {})


def test_packing_is_deterministic_and_puts_files_at_the_root(tmp_path: Path) -> None:
    fx.write_onnx(tmp_path / "src")
    (tmp_path / "src" / "code").mkdir()
    (tmp_path / "src" / "code" / "inference.py").write_text("")
    first = pack_model_dir(tmp_path / "src", tmp_path / "a.tar.gz").read_bytes()
    second = pack_model_dir(tmp_path / "src", tmp_path / "b.tar.gz").read_bytes()
    assert first == second
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["code", "code/inference.py", "model.onnx"]


def model_tree(root: Path) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return 1\n")
    (root / "model.joblib").write_bytes(b"weights")
    return root


def test_a_directory_is_copied_as_its_archive_would_unpack(tmp_path: Path) -> None:
    source = model_tree(tmp_path / "src")
    (source / "empty").mkdir()
    model_dir = extract_model_archive(source, tmp_path / "m")
    assert (model_dir / "code" / "inference.py").read_text().startswith("def model_fn")
    assert (model_dir / "model.joblib").read_bytes() == b"weights"
    assert (model_dir / "empty").is_dir()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, out: (d / "code" / "x.py").symlink_to(out), "holds a symbolic link"),
        (lambda d, out: (d / "linked-dir").symlink_to(out.parent), "holds a symbolic link"),
        (lambda d, out: os.link(out, d / "hard.txt"), "holds a hard-linked file"),
        (lambda d, out: os.mkfifo(d / "fifo"), "not a regular file or directory"),
    ],
)
def test_a_directory_with_links_or_special_files_is_refused(
    tmp_path: Path, make: Any, message: str
) -> None:
    outside = tmp_path / "outside" / "secret.txt"
    outside.parent.mkdir()
    outside.write_text("host secret")
    source = model_tree(tmp_path / "src")
    make(source, outside)
    with pytest.raises(ArtifactError, match=message) as caught:
        extract_model_archive(source, tmp_path / "m")
    assert str(tmp_path) not in str(caught.value)  # the host's paths stay out of the message
    assert caught.value.extra  # the entry is named in the details, for the owner
    copied = [p.read_bytes() for p in (tmp_path / "m").rglob("*") if p.is_file()]
    assert b"host secret" not in copied


def test_an_archive_over_the_size_limit_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    archive = tar_with(tmp_path / "model.tar.gz", entry("model.joblib"), data=b"x" * 5000)
    with pytest.raises(ArtifactError, match="larger than the limit of 4096 bytes"):
        extract_model_archive(archive, tmp_path / "m", ArtifactLimits(max_bytes=4096))
    assert not (tmp_path / "m").exists()
    extract_model_archive(archive, tmp_path / "ok", ArtifactLimits(max_bytes=5000))


def test_a_directory_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    source = model_tree(tmp_path / "src")
    (source / "weights.bin").write_bytes(b"\0" * 5000)
    with pytest.raises(ArtifactError, match="larger than the limit of 4096 bytes"):
        extract_model_archive(source, tmp_path / "m", ArtifactLimits(max_bytes=4096))


@pytest.mark.parametrize("directory", [True, False])
def test_unpacking_past_the_deadline_is_refused(tmp_path: Path, directory: bool) -> None:
    source = model_tree(tmp_path / "src")
    artifact = source if directory else pack_model_dir(source, tmp_path / "model.tar.gz")
    past = ArtifactLimits(timeout_s=-1.0)  # a deadline already passed
    with pytest.raises(ArtifactError, match="took longer than -1 s"):
        extract_model_archive(artifact, tmp_path / "m", past)
