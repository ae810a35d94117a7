"""``datagen provenance`` given the run's options as flags names the same rows as ``gen.provenance``: every
GeneratorOptions field that decides which rows a batch holds has a flag (windows are packed by the bytes a
decoded row takes, so dtype and sample_weight change the batches), and the others are listed with a reason."""

import dataclasses
import json

import pytest
from hypothesis import given, settings, strategies as st

from cli_checks import datagen_cli
from datagen import DataGenerator
from datagen.app.cli import provenance
from datagen.app.trace_flags import FLAGS, NOT_FLAGS
from datagen.reader.options import GeneratorOptions


def test_every_option_field_has_a_flag_or_a_reason():
    fields = {f.name for f in dataclasses.fields(GeneratorOptions)}
    flagged = {name for name, _ in FLAGS}
    assert not flagged & set(NOT_FLAGS)
    assert fields == flagged | set(NOT_FLAGS), "a new generator option needs a provenance flag or a reason"
    params = {p.name for p in provenance.params}
    assert flagged <= params


def _args(options: dict) -> list[str]:
    args = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "features":
            args += [flag, json.dumps(value) if isinstance(value, dict) else ",".join(value)]
        elif isinstance(value, bool):
            args.append(flag if value else {"shuffle": "--no-shuffle", "drop_remainder": "--keep-remainder"}[name])
        else:
            args += [flag, str(value)]
    return args


def _same_rows(dataset, options: dict, batch: int, epoch: int) -> None:
    api = DataGenerator(dataset, **options).provenance(batch, epoch=epoch)
    r = datagen_cli("provenance", dataset, "--batch", batch, "--epoch", epoch, "--format", "csv", *_args(options))
    assert r.exit_code == 0, r.output
    assert r.output == api.to_csv()


BASE = dict(features=["f0", "f1"], label="label", batch_size=100, shuffle=True, seed=5, memory_budget="1MB")


@pytest.mark.parametrize("extra", [
    {"dtype": "float64"},
    {"sample_weight": "id"},
    {"num_classes": 2},
    {"dtype": "float64", "sample_weight": "f3", "num_classes": 2, "drop_remainder": True},
    {"features": {"num": ["f0", "f1"], "txt": ["category"]}, "memory_budget": "4MB"},
    {"num_replicas": 3, "replica": 2, "replica_tail": "drop", "where": "month <= 10"},
])
def test_flags_name_the_rows_the_api_names(dataset, extra):
    _same_rows(dataset, {**BASE, **extra}, batch=7, epoch=1)


@settings(max_examples=30, deadline=None)
@given(dtype=st.sampled_from(["float32", "float64"]), weight=st.sampled_from([None, "id", "f2"]),
       classes=st.sampled_from([None, 2, 5]), features=st.sampled_from([["f0"], ["f0", "f1", "f2", "f3"]]),
       budget=st.sampled_from(["1MB", "2MB"]), seed=st.integers(0, 2**31), batch=st.integers(0, 20),
       epoch=st.integers(0, 3), batch_size=st.sampled_from([64, 100, 257]))
def test_flags_match_the_api_for_option_combinations(dataset, dtype, weight, classes, features,
                                                     budget, seed, batch, epoch, batch_size):
    options = dict(features=features, label="label", batch_size=batch_size, shuffle=True, seed=seed,
                   memory_budget=budget, dtype=dtype)
    options.update({k: v for k, v in (("sample_weight", weight), ("num_classes", classes)) if v is not None})
    _same_rows(dataset, options, batch, epoch)


@pytest.mark.parametrize("text", ['{"num": ["f0"]', '["f0"]x', '{"num": 3}'])
def test_a_features_object_that_does_not_read_is_one_error_line(dataset, text):
    r = datagen_cli("provenance", dataset, "--batch", "0", "--features", text)
    assert r.exit_code != 0
    assert r.output.count("error:") == 1 and "Traceback" not in r.output, r.output
