"""verify and the generator check `_source_row` against the sources' row counts, as they check
`_source_id` (issue #10: a manifest whose rows_read was moved between sources verified OK and only
provenance failed); manifests naming columns that are not there are refused."""

import json
import shutil

import pytest

from datagen import DataGenerator
from datagen.contract.errors import ManifestError, ShardError
from datagen.contract.manifest import read_manifest
from datagen.contract.verify import verify_dataset


def _edit(dataset, tmp_path, edit):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    data = json.loads((copy / "manifest.json").read_text())
    edit(data)
    (copy / "manifest.json").write_text(json.dumps(data))
    return copy


def test_rows_beyond_a_sources_row_count_are_found(dataset, tmp_path):
    def edit(data):
        first, second = data["sources"][0], data["sources"][1]
        first["rows_read"], second["rows_read"] = first["rows_read"] - 10, second["rows_read"] + 10
    copy = _edit(dataset, tmp_path, edit)
    m = read_manifest(copy)  # still a consistent manifest on its own
    assert sum(s.rows_read for s in m.sources) == m.totals.rows_read
    report = verify_dataset(copy)
    assert not report.ok and all("points at source" in p for p in report.problems), report.problems
    gen = DataGenerator(copy, features=["f0"], batch_size=len_all(m))  # footers alone cannot tell
    with pytest.raises(ShardError, match="points at source"):
        gen.provenance(0)


def len_all(m):
    return sum(s.rows for s in m.shards)


@pytest.mark.parametrize("field,value,needle", [
    ("time_column", "nope", "time_column"), ("label_column", "nope", "label_column")])
def test_columns_the_manifest_names_must_exist(dataset, tmp_path, field, value, needle):
    copy = _edit(dataset, tmp_path, lambda data: data.__setitem__(field, value))
    with pytest.raises(ManifestError, match=needle):
        read_manifest(copy)


def test_arrow_dataset_checks_footers_like_the_generator(dataset, tmp_path):
    from datagen.dataset import arrow_dataset

    def swap(data):
        a, b = data["schema"][1], data["schema"][2]
        data["schema"][1], data["schema"][2] = b, a
    copy = _edit(dataset, tmp_path, swap)
    with pytest.raises(ShardError, match="does not match the manifest"):
        arrow_dataset(copy)
