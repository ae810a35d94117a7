"""The output directory's life cycle: ``with OutDir(out) as target: ...``.

Entering creates ``--out`` (and any missing parents, remembered), takes the
exclusive lock (lock.py) and finishes or undoes a split that was killed in this
directory (journal.py). :meth:`OutDir.inspect` then says what ``--out`` holds:
nothing of anyone's (fresh), or a dataset whose manifest parses as ours; any
other content is refused and left alone, with or without ``--overwrite``.
:meth:`OutDir.begin` opens the journal and the staging tree; publish.py commits.
Leaving after a failure undoes what this split wrote (via the journal), releases
the lock and removes the directories this run created, if they are empty.

Only what a datagen split demonstrably wrote is ever deleted: files listed by
our manifest or our journal, our staging tree, our lock file.
"""

from __future__ import annotations

import os
from pathlib import Path

from datagen.contract.errors import ManifestError, OutputError
from datagen.contract.format import MANIFEST_NAME
from datagen.contract.manifest import read_manifest

from . import journal
from datagen.contract.outlock import LOCK_NAME, OutLock

STAGING = journal.STAGING
# names whose presence in a fresh --out is ours (a killed split's lock file)
_OURS_WHEN_FRESH = {LOCK_NAME}


def _make_dirs(out: Path) -> list[Path]:
    """Create ``out`` and its missing parents; return the ones this call created, outermost first."""
    missing = []
    path = out
    while not os.path.lexists(path):
        missing.append(path)
        path = path.parent
    created = []
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            continue  # someone else made it: not ours to remove
        except OSError as exc:
            _remove_empty(created)
            raise OutputError(f"cannot create --out {str(out)!r}: {exc.strerror or exc} ({str(path)!r})") from None
        created.append(path)
    if not out.is_dir():
        raise OutputError(f"--out {str(out)!r} exists and is not a directory")
    return created


def _remove_empty(created: list[Path]) -> None:
    for path in reversed(created):
        try:
            os.rmdir(path)
        except OSError:
            return


def _listing(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:3])
    return shown + (", ..." if len(names) > 3 else "")


class OutDir:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.lock = OutLock(self.out)
        self.created: list[Path] = []
        self.recovered: str | None = None   # what was found of a killed split: "committed" / "rolled back"
        self.begun = False

    def __enter__(self) -> "OutDir":
        self.created = _make_dirs(self.out)
        try:
            self.lock.acquire()
            self.recovered = journal.recover(self.out)
        except BaseException:
            self.lock.release()
            _remove_empty(self.created)
            raise
        return self

    def inspect(self, read=read_manifest):
        """The dataset ``out`` holds (its manifest, as ``read`` gives it), or None when it holds nothing;
        refuses anything else."""
        out = self.out
        if os.path.lexists(out / MANIFEST_NAME):
            try:
                return read(out)
            except ManifestError as exc:
                raise OutputError(f"--out {str(out)!r} holds a manifest.json that is not a valid datagen manifest "
                                  f"({exc}); refusing to touch it, choose another directory") from None
        entries = [name for name in os.listdir(out) if name not in _OURS_WHEN_FRESH]
        if entries:
            raise OutputError(f"--out {str(out)!r} is not empty and holds no dataset (holds {_listing(entries)}); "
                              "choose an empty or new directory")
        return None

    def begin(self) -> None:
        """Open the journal, then the staging tree (neither may exist: they would not be ours)."""
        for name in (STAGING, journal.MANIFEST_TMP):
            if os.path.lexists(self.out / name):
                raise OutputError(f"--out {str(self.out)!r} holds {name!r}, which no datagen journal accounts for; "
                                  "remove it")
        self.begun = True  # from here a failure is undone through the journal (even a half-written one)
        journal.start(self.out)
        os.mkdir(self.out / STAGING)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None and self.begun:
                try:
                    journal.recover(self.out)
                except Exception:  # keep the journal for the next run; report the first error
                    pass
        finally:
            self.lock.release()
            if exc_type is not None:
                _remove_empty(self.created)
