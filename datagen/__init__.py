"""datagen: lineage-tracked shards and a Keras PyDataset that trains from them.

``import datagen`` stays cheap: Keras is imported only when ``DataGenerator``
is first used.
"""

from ._version import __version__
from datagen.contract.errors import (ColumnError, ConfigError, ConservationError, DatagenError, FilterError, ManifestError,
                                     OutputError, SchemaError, ShardError, SourceError, TimeParseError, UsageError)
from datagen.contract.format import Manifest
from datagen.contract.manifest import read_manifest

__all__ = [
    "__version__", "DataGenerator", "Manifest", "read_manifest", "DatagenError", "UsageError", "ConfigError",
    "SourceError", "SchemaError", "TimeParseError", "OutputError", "ConservationError", "ManifestError",
    "ShardError", "FilterError", "ColumnError",
]


def __getattr__(name):  # lazy re-export: keeps Keras out of `import datagen`
    if name == "DataGenerator":
        from datagen.reader.generator import DataGenerator

        return DataGenerator
    raise AttributeError(f"module 'datagen' has no attribute {name!r}")
