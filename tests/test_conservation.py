"""The row-conservation check rejects lost, duplicated and double-counted rows."""

import numpy as np
import pytest

from datagen.contract.errors import ConservationError
from splitters.reduce import ReduceResult
from splitters.sources import SourceFile
from splitters.conservation import check_conservation as _check_conservation
from splitters.stage import StageResult

SRC = [SourceFile(0, "/data/a.parquet", "parquet", 1, None, None)]


def _stage(rows_read=10, dropped=()):
    return [StageResult(unit=0, source_id=0, rows_read=rows_read, dropped_rows=np.array(dropped, dtype=np.int64))]


def _written(*row_sets, n=10):
    out = []
    for rows in row_sets:
        mark = np.zeros(n, bool)
        mark[list(rows)] = True
        out.append(ReduceResult(shards=[], written={0: np.packbits(mark)}, counts={0: len(list(rows))}))
    return out


def test_exact_partition_passes():
    counts = _check_conservation(SRC, _stage(dropped=[9]), _written(range(0, 5), range(5, 9)))
    assert counts == {0: (10, 9, 1)}


def test_lost_row_fails():
    with pytest.raises(ConservationError, match="read 10 rows but wrote 8 and dropped 1.*first missing row: 4"):
        _check_conservation(SRC, _stage(dropped=[9]), _written(range(0, 4), range(5, 9)))


def test_row_in_two_shards_fails():
    with pytest.raises(ConservationError, match="more than one shard"):
        _check_conservation(SRC, _stage(), _written(range(0, 6), range(5, 10)))


def test_dropped_and_written_fails():
    with pytest.raises(ConservationError, match="dropped row was also written"):
        _check_conservation(SRC, _stage(dropped=[3]), _written(range(0, 10)))


def test_row_twice_in_one_shard_fails():
    results = _written(range(0, 10))
    results[0].counts[0] += 1  # eleven rows written for ten distinct source rows
    with pytest.raises(ConservationError, match="11 rows were written for 10 distinct"):
        _check_conservation(SRC, _stage(), results)
