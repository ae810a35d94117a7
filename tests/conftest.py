import sys, pathlib
sys.path.insert(0, str(pathlib.Path(__file__).parent))
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest
from hypothesis import settings

# CI (CI=true) runs the property tests on a fixed set of examples, so a run is reproducible; elsewhere
# every run explores new examples (and hypothesis keeps the failing ones in .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")

from cli_checks import datagen_cli, split_cli
from datagen.app.sample import write_sample


@pytest.fixture(scope="session")
def sample_parquet(tmp_path_factory):
    """Three Parquet files of 4,000 rows each (several row groups per file)."""
    d = tmp_path_factory.mktemp("src-parquet")
    write_sample(d, files=3, rows_per_file=4_000, seed=1, features=4, row_group_size=1_500)
    return d


@pytest.fixture
def run_split():
    """Invoke split-datasets in-process (cli_checks.split_cli); returns the click Result."""
    return split_cli


@pytest.fixture
def run_datagen():
    """Invoke datagen in-process (cli_checks.datagen_cli); returns the click Result."""
    return datagen_cli


@pytest.fixture(scope="module")
def cluster():
    """A dask.distributed LocalCluster of two single-threaded worker processes on 127.0.0.1 (one per module)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


from gen_fixtures import dataset, sources  # noqa: E402,F401  (generator test fixtures)


from s3_server import s3_bucket, s3_server  # noqa: E402,F401  (moto S3 on 127.0.0.1 for the object-storage tests)
