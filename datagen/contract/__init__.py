"""The manifest contract: the one room both sides depend on.

Format dataclasses and the one validating reader/writer of ``manifest.json``
(``manifest``, ``manifest_schema``, ``manifest_rules``, ``jsonspec``), hive path
rules (``hive``, ``pathrules``), hashing, the shard-file checks (``shardcheck``) and the whole-dataset check (``verify``),
the error tree (``errors``) and the small validators of option values
(``validate``, ``configfile``). It imports neither Keras nor Dask, and nothing
from ``splitters`` or the other rooms of ``datagen``.
"""
