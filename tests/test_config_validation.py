"""Every configuration value is type-checked (YAML file, flags, Python): booleans are
booleans, numbers finite and in range, strings strings, lists lists of strings;
anything else is a one-line ConfigError (exit 2) naming the option, never a traceback
and never a silent reinterpretation (``overwrite: "false"`` must not overwrite)."""

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from datagen.contract import validate as v
from datagen.contract.configfile import parse_size
from datagen.contract.errors import ConfigError
from datagen.reader.options import GeneratorOptions, options_from_config
from splitters.config import SplitConfig, load_config_file
from cli_checks import fails
from gen_fixtures import stamps, write_parquet

BASE = {"inputs": ["in.parquet"], "out": "out", "time_column": "t"}

# the Python type each SplitConfig option holds after validation
EXPECTED_TYPES = {
    "group_by": list, "label": (str, type(None)), "time_unit": (str, type(None)), "timezone": str,
    "on_bad_time": str, "max_rows_per_shard": (int, type(None)), "compression": str,
    "min_compression_saving": float, "compact": bool, "row_group_size": int, "memory_limit": int,
    "scheduler": str, "workers": (int, type(None)), "overwrite": bool, "progress": bool,
    "inputs": list, "out": str, "time_column": (str, type(None)), "on_missing_time": str,
}

yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["yes", "no", "on", "off", "true", "false", "0", "1", "1e400", ".inf",
                                           "infMB", "4GB", "-1GB", "nanGB", "local", "tcp://h:1", "UTC", "zstd"]),
)
yaml_values = st.one_of(yaml_scalars, st.lists(yaml_scalars, max_size=3),
                        st.dictionaries(st.text(max_size=3), yaml_scalars, max_size=2))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(EXPECTED_TYPES)), yaml_values)
def test_any_yaml_value_is_accepted_with_the_right_type_or_refused(tmp_path_factory, key, value):
    path = tmp_path_factory.getbasetemp() / "prop.yaml"
    path.write_text(yaml.safe_dump({**BASE, key: value}))
    try:
        cfg = SplitConfig(**load_config_file(path))
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    got = getattr(cfg, key)
    assert isinstance(got, EXPECTED_TYPES[key]), (key, value, got)
    if isinstance(got, bool):
        assert got is value
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        assert math.isfinite(got) and abs(got) < 2**63
    if key == "group_by":
        assert got and all(isinstance(g, str) and g for g in got)


@pytest.mark.parametrize("key,value,needle", [
    ("overwrite", "false", "overwrite: expected true or false"),
    ("overwrite", "no", "overwrite"),
    ("compact", "no", "compact: expected true or false"),
    ("compact", 1, "compact"),
    ("progress", "off", "progress"),
    ("label", ["x"], "label: expected a string"),
    ("label", 5, "label"),
    ("time_column", ["t"], "time_column"),
    ("group_by", [["month"]], "group_by: expected a list of strings"),
    ("group_by", [1], "group_by"),
    ("group_by", {"a": 1}, "group_by"),
    ("timezone", ["UTC"], "timezone"),
    ("memory_limit", float("inf"), "memory_limit"),
    ("memory_limit", float("nan"), "memory_limit"),
    ("memory_limit", "infMB", "memory_limit"),
    ("memory_limit", "1e400", "memory_limit"),
    ("memory_limit", 10**400, "memory_limit"),
    ("memory_limit", -1, "memory_limit"),
    ("memory_limit", "-4GB", "memory_limit"),
    ("memory_limit", True, "memory_limit"),
    ("min_compression_saving", float("nan"), "min_compression_saving"),
    ("min_compression_saving", float("inf"), "min_compression_saving"),
    ("min_compression_saving", "0.1", "min_compression_saving"),
    ("row_group_size", 1e6, "row_group_size"),
    ("row_group_size", 10**30, "row_group_size"),
    ("max_rows_per_shard", "10", "max_rows_per_shard"),
    ("workers", 10**12, "workers"),
    ("workers", 2.0, "workers"),
    ("scheduler", "tcp://localhost:notaport", "scheduler"),
    ("scheduler", "tcp://localhost:0", "scheduler"),
    ("scheduler", "tcp://localhost:99999", "scheduler"),
    ("scheduler", "tcp://:8786", "scheduler"),
    ("scheduler", "tcp://localhost", "scheduler"),
    ("scheduler", 8786, "scheduler"),
    ("time_unit", ["s"], "time_unit"),
    ("on_bad_time", True, "on_bad_time"),
])
def test_bad_values_are_refused_naming_the_option(key, value, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")):
        SplitConfig(**{**BASE, key: value})


def test_good_values_are_kept():
    cfg = SplitConfig(**{**BASE, "overwrite": True, "compact": False, "group_by": "month, day", "label": "y",
                         "memory_limit": "1.5GB", "workers": 3, "min_compression_saving": 0})
    assert cfg.overwrite is True and cfg.compact is False and cfg.group_by == ["month", "day"]
    assert cfg.memory_limit == 1_500_000_000 and cfg.workers == 3 and cfg.min_compression_saving == 0.0
    assert SplitConfig(**{**BASE, "scheduler": "tcp://[::1]:8786"}).scheduler == "tcp://[::1]:8786"


def test_workers_with_a_cluster_is_refused_not_ignored(tmp_path, run_split):
    """The engine runs on a cluster's own threads: --workers with --scheduler tcp://... did nothing."""
    with pytest.raises(ConfigError, match="workers: only for the local scheduler"):
        SplitConfig(**{**BASE, "scheduler": "tcp://127.0.0.1:8786", "workers": 3})
    write_parquet(tmp_path / "in.parquet", {"t": stamps(10), "v": np.arange(10)})
    r = run_split(tmp_path / "in.parquet", "--out", tmp_path / "o", "--time-column", "t", "--workers", "2",
                  "--scheduler", "tcp://127.0.0.1:9")
    fails(r, 2, "workers: only for the local scheduler", "tcp://127.0.0.1:9")
    assert not (tmp_path / "o").exists()


def test_config_file_keys(tmp_path):
    (tmp_path / "a.yaml").write_text("colour: blue\n")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_config_file(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("group-by: month\ngroup_by: day\n")
    with pytest.raises(ConfigError, match="given twice"):
        load_config_file(tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text("1: x\n")
    with pytest.raises(ConfigError, match="unknown key 1"):
        load_config_file(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("[" * 5000)
    with pytest.raises(ConfigError, match="d.yaml"):
        load_config_file(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="e.yaml"):
        load_config_file(tmp_path / "e.yaml")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                 st.none(), st.text(max_size=10),
                 st.builds(lambda n, u: f"{n}{u}", st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                                            st.integers(-10, 10**25)),
                           st.sampled_from(["", "B", "KB", "MiB", "GB", "tib", " gb"]))))
def test_parse_size_returns_a_sane_int_or_a_config_error(value):
    try:
        n = parse_size(value, "memory_budget", minimum=1)
    except ConfigError as exc:
        assert str(exc).startswith("memory_budget: ") and "\n" not in str(exc)
        return
    assert type(n) is int and 1 <= n <= 2**63 - 1


def test_parse_size_examples():
    assert parse_size("4GB", "k", 1) == 4 * 10**9
    assert parse_size("512MiB", "k", 1) == 512 << 20
    assert parse_size(1e9, "k", 1) == 10**9
    for bad in ("infMB", float("inf"), float("nan"), "nan", "1e400", 2**63, "-1GB", -5, "lots", True, None, [1]):
        with pytest.raises(ConfigError, match="^k: "):
            parse_size(bad, "k", 1)


@pytest.mark.parametrize("key,value", [
    ("label", ["x"]), ("sample_weight", 3), ("shuffle", "no"), ("drop_remainder", "false"),
    ("memory_budget", "infMB"), ("memory_budget", float("inf")), ("batch_size", float("inf")),
    ("batch_size", 10**30), ("seed", -1), ("seed", 1.5), ("features", [["a"]]), ("features", [1]),
    ("features", {"in": [2]}), ("directory", 5), ("manifest_sha256", ["x"]), ("colour", "blue"),
])
def test_generator_config_values_are_type_checked(key, value):
    config = {"directory": "d", "features": ["a"], key: value}
    with pytest.raises(ConfigError, match=key):
        options_from_config(config)


def test_generator_config_file_label_list_is_a_one_line_error(tmp_path, run_datagen):
    """YAML `label: [x]` in a training config gave a traceback."""
    write_parquet(tmp_path / "in.parquet", {"t": stamps(10), "a": np.arange(10.0), "y": np.arange(10)})
    (tmp_path / "train.yaml").write_text("generator:\n  features: [a]\n  label: [y]\n")
    r = run_datagen("provenance", tmp_path / "ds", "--batch", "0", "--config", tmp_path / "train.yaml")
    fails(r, 2, "error: label: expected a column name")


def test_validators_directly():
    assert v.boolean(False, "k") is False
    assert v.integer(None, "k", allow_none=True) is None
    assert v.number(1, "k") == 1.0 and isinstance(v.number(1, "k"), float)
    assert v.string_list("a, b", "k") == ["a", "b"]
    for call in (lambda: v.boolean(0, "k"), lambda: v.integer(True, "k"), lambda: v.number(10**400, "k"),
                 lambda: v.string("", "k"), lambda: v.string("a\x00b", "k"), lambda: v.choice(["x"], "k", ["x"]),
                 lambda: v.string_list("a,,b", "k"), lambda: v.string_list(5, "k")):
        with pytest.raises(ConfigError, match="^k"):
            call()
    assert GeneratorOptions("d", ["a"]).label is None


GEN_KEYS = ["label", "batch_size", "shuffle", "seed", "where", "num_classes", "sample_weight", "drop_remainder",
            "memory_budget", "verify", "manifest_sha256", "features", "directory"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(GEN_KEYS), yaml_values)
def test_any_generator_config_value_is_accepted_with_the_right_type_or_refused(key, value):
    config = {"directory": "d", "features": ["a"], "label": "y", key: value}
    try:
        opts = options_from_config(config)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    got = getattr(opts, key)
    if key in ("shuffle", "drop_remainder"):
        assert got is value
    elif key in ("batch_size", "seed", "memory_budget"):
        assert type(got) is int and 0 <= got < 2**64
    elif key in ("label", "sample_weight", "manifest_sha256", "directory", "verify"):
        assert got is None or isinstance(got, str)
    elif key == "features":
        assert got and all(isinstance(c, str) and c for c in opts.feature_columns)
