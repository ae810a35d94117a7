"""On a cluster, every worker task that opens an input or output runs under the --storage-option
values of its URLs (workers here see a dead AWS_ENDPOINT_URL; only the options name the right one),
for CSV and Parquet inputs alike; a worker's storage error reaches the user as one line naming the
input, not as an internal error."""

import pytest
import s3fs

from datagen.app.sample import write_sample
from datagen.contract.errors import DatagenError
from datagen.contract.manifest import read_manifest

DEAD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def dead_env_cluster():
    """Two worker processes whose environment points AWS_ENDPOINT_URL at a closed port."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, env={"AWS_ENDPOINT_URL": DEAD}) as c:
        yield c


@pytest.fixture(scope="module")
def csv_src(tmp_path_factory):
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    d = tmp_path_factory.mktemp("clus-src")
    write_sample(d, files=1, rows_per_file=600, seed=3, features=2)
    table = pq.read_table(next(d.glob("*.parquet")))
    pcsv.write_csv(table, d / "a.csv")
    return d


@pytest.mark.parametrize("out_kind", ["bucket", "local"])
def test_csv_on_cluster_uses_the_options_endpoint(csv_src, s3_bucket, s3_server, dead_env_cluster, tmp_path,
                                                  out_kind):
    from splitters.config import SplitConfig
    from splitters.split import run_split

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.put_file(str(csv_src / "a.csv"), f"{s3_bucket}/in/a.csv")
    out = f"s3://{s3_bucket}/ds" if out_kind == "bucket" else str(tmp_path / "ds")
    cfg = SplitConfig(inputs=[f"s3://{s3_bucket}/in/a.csv"], out=out, time_column="event_time",
                      group_by=["month"], label="label", progress=False, time_unit="ns",
                      scheduler=dead_env_cluster.scheduler_address, storage_options={"endpoint_url": s3_server})
    run_split(cfg)
    if out_kind == "local":
        assert read_manifest(tmp_path / "ds").totals.rows_written == 600
    else:
        import json

        assert json.loads(fs.cat_file(f"{s3_bucket}/ds/manifest.json"))["totals"]["rows_written"] == 600


def test_worker_storage_error_is_one_line_naming_the_input(csv_src, s3_bucket, dead_env_cluster):
    from splitters.config import SplitConfig
    from splitters.split import run_split

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.put_file(str(csv_src / "a.csv"), f"{s3_bucket}/in/a.csv")
    # the client lists with the right endpoint (its environment); the workers only know the dead one
    cfg = SplitConfig(inputs=[f"s3://{s3_bucket}/in/a.csv"], out=f"s3://{s3_bucket}/ds2", time_column="event_time",
                      group_by=["month"], label="label", progress=False, time_unit="ns",
                      scheduler=dead_env_cluster.scheduler_address)
    with pytest.raises(DatagenError) as err:
        run_split(cfg)
    msg = str(err.value)
    assert "\n" not in msg and f"s3://{s3_bucket}/in/a.csv" in msg and "internal error" not in msg
