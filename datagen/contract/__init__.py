"""The manifest contract: the one room both sides depend on.

- ``format``: the typed entries of ``manifest.json``; ``manifest``: the one validating
  reader/writer, checked against ``manifest_schema`` (declared with ``jsonspec``) and
  ``manifest_rules``;
- ``hive`` and ``pathrules``: group values in paths, and which paths are safe; ``longvalues``: the
  shortened directory of a value too long for one;
- ``hashing``; ``shardcheck``: a shard file against its manifest entry; ``verify``: a whole dataset;
- ``errors``: the error tree, and ``cli_edge``: errors -> one line and an exit code at both command lines; ``validate`` and ``configfile``: option values and config files;
- ``packing``: the in-order bin packing both sides plan with.

It imports neither Keras nor Dask, and nothing from ``splitters`` or the other rooms of ``datagen``.
"""
