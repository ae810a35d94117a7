"""The one-split-at-a-time lock of a bucket ``--out`` (``DIR/.datagen.lock``), mixed into RemoteOut.

Created with a conditional PUT (``If-None-Match: *``; a store without conditional writes falls back
to check-then-put, which two simultaneous splits can race). A lock left by a killed split on this
host (its pid is gone) is taken over with ONE conditional PUT carrying ``If-Match`` on the ETag of
the very lock object read (never delete-then-create), so of several runs taking it over at once
exactly one holds it. A lock from another host is reported with the object to delete. The lock holds
a random token; release deletes it only while it still holds that token.
"""

from __future__ import annotations

import json
import os
import socket

from datagen.contract.errors import DatagenError, OutputError
from datagen.contract.outlock import LOCK_NAME
from datagen.contract.storage import join, storage_error


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BucketLock:
    """Needs ``self.fs``, ``self.url``, ``self.key(rel)`` and ``self._err(exc)`` (RemoteOut)."""

    locked = False

    def _put_new(self, rel: str, data: bytes, replace: str | None = None) -> bool:
        """Create ``rel`` only if absent (or, with ``replace``, only while it still has that ETag: a
        stale lock taken over in one conditional PUT); False if the condition fails."""
        bucket, _, key = self.key(rel).partition("/")
        if hasattr(self.fs, "call_s3"):
            if replace == "stale":  # no ETag was given for it: never overwritten unconditionally
                return False
            condition = {"IfMatch": replace} if replace else {"IfNoneMatch": "*"}
            try:
                self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, **condition)
                return True
            except FileExistsError:  # s3fs's translation of 412 PreconditionFailed
                return False
            except FileNotFoundError:
                if replace:  # the stale lock was deleted meanwhile
                    return False
                raise
            except Exception as exc:
                if any(w in str(exc) for w in ("PreconditionFailed", "412", "ConditionalRequestConflict", "pre-conditions")):
                    return False
                raise
        if replace:
            self.fs.rm_file(self.key(rel))  # no conditional writes: check-then-put (two takers can race)
        if self.fs.exists(self.key(rel)):
            return False
        self.fs.pipe_file(self.key(rel), data)
        return True

    def _held(self) -> tuple[dict, str | None]:
        """The lock's content and the ETag of that very object (one GET carrying If-Match)."""
        path = self.key(LOCK_NAME)
        self.fs.invalidate_cache(path)
        with self.fs.open(path, "rb") as fh:
            raw, etag = fh.read(), (getattr(fh, "details", None) or {}).get("ETag")
        try:
            held = json.loads(raw)
        except ValueError:
            held = {}
        return (held if isinstance(held, dict) else {}), etag

    def acquire(self) -> None:
        me = {"lock": "datagen split lock", "host": socket.gethostname(), "pid": os.getpid(),
              "token": os.urandom(8).hex()}  # release deletes the lock only while it still holds this token
        self._token = me["token"]
        held: dict = {}
        try:
            for _ in range(2):
                if self._put_new(LOCK_NAME, json.dumps(me).encode()):
                    self.locked = True
                    self._read_back()
                    return
                try:
                    held, etag = self._held()
                except FileNotFoundError:
                    continue
                except OSError as exc:  # rewritten while it was read: someone else holds it now
                    if type(exc).__name__ != "FileExpired":
                        raise
                    held, etag = {}, None
                    continue
                if held.get("host") == me["host"] and isinstance(held.get("pid"), int) \
                        and not _pid_alive(held["pid"]):
                    # a killed split's lock, on this host: taken over only while it is still that object
                    # (If-Match on its ETag), so two runs taking it over at once never both hold it
                    if self._put_new(LOCK_NAME, json.dumps(me).encode(), replace=etag or "stale"):
                        self.locked = True
                        self._read_back()
                        return
                    continue
                break
        except DatagenError:
            raise
        except Exception as exc:
            raise self._err(exc) from None
        who = f"pid {held.get('pid')} on {held.get('host')}" if held else "an unknown writer"
        raise OutputError(f"another split is writing --out {self.url!r} ({who}); if none is running, delete "
                          f"{join(self.url, LOCK_NAME)!r} and retry")

    def _read_back(self) -> None:
        """The lock just created must be readable (and so releasable): credentials that may PUT but
        not GET (or DELETE) would otherwise leave it behind after the first failure."""
        try:
            self.fs.cat_file(self.key(LOCK_NAME))
        except Exception as exc:
            problem = self.release()
            error = storage_error(exc, join(self.url, LOCK_NAME), "the lock")
            raise OutputError(f"{error}{'; ' + problem if problem else ''}") from None

    def release(self) -> str | None:
        """Delete the lock this run created; never another writer's (a lock taken over meanwhile).
        None when done (or nothing to do), else one phrase saying the lock was left and how to remove it."""
        if not self.locked:
            return None
        self.locked = False
        where = join(self.url, LOCK_NAME)
        try:
            held = json.loads(self.fs.cat_file(self.key(LOCK_NAME)))
            if not (isinstance(held, dict) and held.get("token") == self._token):
                return None  # another writer's lock now: left alone
            self.fs.rm_file(self.key(LOCK_NAME))
        except FileNotFoundError:
            return None
        except Exception as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            return (f"the lock {where!r} could not be deleted ({type(exc).__name__}: {detail}); delete it "
                    "once no split is running")
        return None
