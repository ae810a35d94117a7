"""``--storage-option`` values live as long as the run (or cluster task) that gave them: a later split in
the same process, or a later task on a long-lived dask worker, never reads with an earlier run's
endpoint or credentials; a URL no running split gave options for gets the environment's defaults
(moto S3 on 127.0.0.1)."""

import pytest
import s3fs

from datagen.app.sample import write_sample
from datagen.contract.errors import DatagenError
from datagen.contract.storage import options_for, storage_scope
from splitters.config import SplitConfig
from splitters.split import run_split

OPTS = dict(time_column="event_time", group_by=["month"], label="label", progress=False, workers=1)
DEAD = {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"retries": {"max_attempts": 1}}}


def test_a_later_split_under_an_earlier_longer_prefix_uses_its_own_options(s3_bucket, tmp_path):
    write_sample(tmp_path / "src", files=1, rows_per_file=300, seed=5, features=2)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.put_file(str(next((tmp_path / "src").glob("*.parquet"))), f"{s3_bucket}/in/sub/e.parquet")
    with pytest.raises(DatagenError):  # its options name an endpoint nothing listens on
        run_split(SplitConfig(inputs=[f"s3://{s3_bucket}/in/sub/*.parquet"], out=str(tmp_path / "a"),
                              storage_options=DEAD, **OPTS))
    assert options_for(f"s3://{s3_bucket}/in/sub/e.parquet") == {}  # forgotten once that run ended
    summary = run_split(SplitConfig(inputs=[f"s3://{s3_bucket}/in/"], out=str(tmp_path / "b"), **OPTS))
    assert summary.rows == 300  # read from the environment's endpoint, not the dead one


def test_scopes_nest_and_end_with_their_block():
    with storage_scope(["s3://sc/a"], {"default_block_size": 3}):
        with storage_scope(["s3://sc/a/deeper/*.csv"], {"default_block_size": 7}):
            assert options_for("s3://sc/a/deeper/x.csv") == {"default_block_size": 7}
            assert options_for("s3://sc/a/x") == {"default_block_size": 3}
        assert options_for("s3://sc/a/deeper/x.csv") == {"default_block_size": 3}
    assert options_for("s3://sc/a/x") == {} and options_for("s3://sc/a/deeper/x.csv") == {}


def test_a_cluster_task_keeps_no_options_for_the_next(cluster):
    from distributed import Client

    from splitters.engine import with_options

    url = "s3://sc/in/sub/e.parquet"
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        for worker in client.nthreads():  # each (single-threaded, long-lived) worker process
            seen = client.submit(with_options, options_for, ["s3://sc/in/sub/*.parquet"], DEAD, url,
                                 workers=[worker], pure=False).result()
            assert seen == DEAD
            after = client.submit(with_options, options_for, ["s3://sc/in/"], {}, url,
                                  workers=[worker], pure=False).result()
            assert after == {}  # the next task, with no options for its URL: the environment's defaults
            assert client.submit(options_for, url, workers=[worker], pure=False).result() == {}
