"""``gen.provenance(i)`` takes the batch indices ``gen[i]`` takes: a negative one counts from the end of the
epoch (it was refused while ``gen[-1]`` worked), and one out of range gets the same IndexError."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from datagen import DataGenerator


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    from cli_checks import split_cli

    tmp = tmp_path_factory.mktemp("neg")
    pq.write_table(pa.table({"g": [i % 3 for i in range(50)], "v": [float(i) for i in range(50)]}), tmp / "s.parquet")
    assert split_cli(tmp / "s.parquet", "--out", tmp / "ds", "--group-by", "g").exit_code == 0
    return DataGenerator(str(tmp / "ds"), features=["v"], batch_size=8, seed=3)   # 7 batches, the last of 2


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(-12, 12))
def test_provenance_takes_the_indices_getitem_takes(gen, i):
    n = len(gen)
    if -n <= i < n:
        x = gen[i][0] if isinstance(gen[i], tuple) else gen[i]
        rows = gen.provenance(i)["source_row"].to_numpy()
        assert rows.tolist() == gen.provenance(i % n)["source_row"].tolist()
        assert np.array_equal(np.asarray(x).ravel(), rows.astype(float))   # v is the source row
    else:
        with pytest.raises(IndexError) as want:
            gen[i]
        with pytest.raises(IndexError) as got:
            gen.provenance(i)
        assert str(got.value) == str(want.value)
