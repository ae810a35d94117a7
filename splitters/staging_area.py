"""Where a split into a bucket stages (remote_split.py): a run-specific directory or prefix that only
this run writes and deletes.

The staging location (``--staging DIR|URL``, else a local temporary directory, else ``<out>/.datagen-staging``
on a cluster) is never deleted or emptied: the run stages in a fresh child named
``datagen-staging-<host>-<pid>-<16 hex>`` (a name only datagen makes, with a run token), and deletes
that child, and nothing else, when it ends. Two splits sharing one staging location never meet.

A run killed with SIGKILL leaves its child behind; the next split staging in the same location deletes
the children whose owner is a process of this host that is no longer alive (``kill(pid, 0)``, as the
shard cache's reservations, cachetmp.py); children of other hosts or of live processes are left alone.
Under ``<out>/.datagen-staging`` (which the --out lock guards) only such children may exist: anything
else there datagen did not write, and the split is refused with it left untouched.

A staging location equal to, above or inside ``--out`` is refused before anything is written, as is a
staging URL whose bucket does not exist (it would be created)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from datagen.contract.cachetmp import _alive
from datagen.contract.errors import ConfigError, OutputError
from datagen.contract.storage import is_remote, join, remote_fs, storage_error

PREFIX = "datagen-staging-"
_RUN = re.compile(r"^" + PREFIX + r"(?P<host>[A-Za-z0-9._-]+)-(?P<pid>[0-9]{1,10})-(?P<token>[0-9a-f]{16})$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"


def run_name() -> str:
    return f"{PREFIX}{_host()}-{os.getpid()}-{os.urandom(8).hex()}"


def is_run_name(name: str) -> bool:
    return _RUN.match(name) is not None


def dead_run(name: str, any_host: bool = False) -> bool:
    """Is ``name`` a run child whose owner is gone? (``any_host``: another host's run counts as gone too.)"""
    m = _RUN.match(name)
    if m is None:
        return False
    if m.group("host") != _host():
        return any_host
    return int(m.group("pid")) != os.getpid() and not _alive(int(m.group("pid")))


def _key(url: str, options: dict) -> tuple[str, str]:
    fs, root = remote_fs(url, options)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol, root.strip("/")


def overlap(staging: str, out: str, options: dict) -> str | None:
    """"is --out", "lies inside --out" or "lies above --out" when the URLs overlap, else None."""
    (sp, s), (op, o) = _key(staging, options), _key(out, options)
    if sp != op:
        return None
    if s == o:
        return "is --out"
    if s.startswith(o + "/"):
        return "lies inside --out"
    return "lies above --out" if not s or o.startswith(s + "/") else None


def check_staging(staging: str, out: str, options: dict) -> None:
    """Refuse a staging URL equal to, above or inside ``out``, or in a bucket that does not exist."""
    if not is_remote(staging):
        return
    where = overlap(staging, out, options)
    if where:
        raise ConfigError(f"--staging {staging!r} {where} {out!r}; choose a staging location outside --out "
                          "(its staged files would mix with the dataset)")
    fs, root = remote_fs(staging, options)
    bucket = root.strip("/").split("/")[0]
    try:
        found = fs.exists(bucket)
    except Exception as exc:
        raise storage_error(exc, staging, "--staging") from None
    if not found:
        raise OutputError(f"--staging {staging!r}: the bucket does not exist; create it or fix the URL")


def foreign_in_out_staging(listing, staging_dir: str) -> list[str]:
    """The rel paths under ``<out>/<staging_dir>/`` that are not inside a run child."""
    bad = []
    for rel in listing:
        parts = rel.split("/")
        if parts[0] == staging_dir and (len(parts) < 3 or not is_run_name(parts[1])):
            bad.append(rel)
    return sorted(bad)


class StagingArea:
    """The run child of one staging location; ``root`` is a local Path or a URL string."""

    def __init__(self, base: str, options: dict, guarded: bool = False, given: bool = True):
        self.base, self.options, self.guarded = base, options, guarded  # guarded: under the --out lock
        self.given = given  # named by --staging
        self.remote = is_remote(base)
        self.name = run_name()
        self.created: list[Path] = []
        self.root = join(base.rstrip("/"), self.name) if self.remote else str(Path(base) / self.name)

    def open(self) -> str:
        """Delete dead runs' children, then create (locally) this run's; returns its location."""
        if self.remote:
            fs, root = remote_fs(self.base, self.options)
            try:
                names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False, refresh=True)]
            except FileNotFoundError:
                names = []
            except Exception as exc:
                raise storage_error(exc, self.base, "--staging") from None
            for name in names:
                if dead_run(name, any_host=self.guarded):
                    try:
                        fs.rm(join(root, name), recursive=True)
                    except Exception:
                        pass  # best effort: the next run tries again
            return self.root
        base = Path(self.base)
        missing, path = [], base
        while not os.path.lexists(path):
            missing.append(path)
            path = path.parent
        for path in reversed(missing):
            try:
                os.mkdir(path)
                self.created.append(path)
            except FileExistsError:
                pass
            except OSError as exc:
                raise OutputError(f"cannot create --staging {self.base!r}: {exc.strerror or exc}") from None
        if not base.is_dir():
            raise OutputError(f"--staging {self.base!r} is not a directory")
        for name in os.listdir(base):
            if dead_run(name) and (base / name).is_dir() and not (base / name).is_symlink():
                shutil.rmtree(base / name, ignore_errors=True)
        os.mkdir(self.root)
        os.mkdir(Path(self.root) / "shards")
        return self.root

    def blamed(self, exc: OSError) -> tuple[str, str] | None:
        """(location, option) to name for an error about one of this run's staged files, else None."""
        inner = self.root.split("://", 1)[-1]
        if inner in f"{getattr(exc, 'filename', None) or ''} {exc}":
            return self.base, "--staging" if self.given else "the staging location"
        return None

    def close(self) -> None:
        """Delete this run's child (and the directories ``open`` created, when empty)."""
        if self.remote:
            try:
                fs, root = remote_fs(self.root, self.options)
                fs.invalidate_cache(root.rsplit("/", 1)[0])  # the workers wrote it: this process's listings are stale
                fs.rm(root, recursive=True)
            except Exception:
                pass  # FileNotFoundError: nothing was staged
            return
        shutil.rmtree(self.root, ignore_errors=True)
        for path in reversed(self.created):
            try:
                os.rmdir(path)
            except OSError:
                break


def default_base(cfg_staging: str | None, out_url: str, staging_dir: str, cluster: bool) -> tuple[str, bool]:
    """(staging location, guarded by the --out lock)."""
    if cfg_staging:
        # a local directory made absolute here: workers resolve a relative one against their own cwd
        return (cfg_staging.rstrip("/") if is_remote(cfg_staging) else os.path.abspath(cfg_staging)), False
    if cluster:
        return join(out_url, staging_dir), True
    return tempfile.gettempdir(), False
