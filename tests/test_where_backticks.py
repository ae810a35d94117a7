"""Group columns whose names are not Python identifiers (``Primary Type``, ``class``, ``2nd``) can be named in a
``where`` string in backticks, as pandas' ``query`` writes them, in the API and in ``datagen provenance --where``
(which also takes a JSON object, the dict form)."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

from cli_checks import datagen_cli
from datagen import DataGenerator
from datagen.contract.errors import FilterError
from datagen.reader.where import compile_where

names = st.one_of(st.sampled_from(["Primary Type", "class", "2nd", "a-b", "x.y", "if", "é t", "q'uote", ' "d" ',
                                   "_q0_", "month"]),
                  st.text(st.characters(blacklist_characters="`", blacklist_categories=("Cs",)), min_size=1, max_size=8))


@settings(max_examples=60, deadline=None)
@given(cols=st.lists(names, min_size=1, max_size=3, unique=True), data=st.data())
def test_backticked_names_filter_as_the_dict_form_does(cols, data):
    kinds = data.draw(st.lists(st.sampled_from(["int", "str"]), min_size=len(cols), max_size=len(cols)))
    pick = {"int": st.integers(-3, 3), "str": st.sampled_from(["a", "b", "a`b", "`x`", "it's"])}
    rows = data.draw(st.lists(st.fixed_dictionaries({c: pick[k] for c, k in zip(cols, kinds)}), min_size=1,
                              max_size=6))
    col = data.draw(st.sampled_from(cols))
    value = data.draw(pick[kinds[cols.index(col)]])
    negate = data.draw(st.booleans())
    text = f"`{col}` {'!=' if negate else '=='} {value!r}"
    if len(cols) > 1:  # a second backticked column, to check several names in one string
        other = next(c for c in cols if c != col)
        text = f"({text}) or `{other}` == None"
    predicate = compile_where(text, cols, rows)
    reference = compile_where({col: [value]}, cols, rows)
    for row in rows:
        assert predicate(row) == (reference(row) != negate), (text, row)


@pytest.mark.parametrize("name", ["month", "flag_2"])
def test_a_backticked_identifier_is_the_plain_name(name):
    rows = [{name: 1}, {name: 2}, {name: None}]
    plain, quoted = compile_where(f"{name} >= 2", [name], rows), compile_where(f"`{name}` >= 2", [name], rows)
    assert [plain(r) for r in rows] == [quoted(r) for r in rows] == [False, True, False]


@pytest.mark.parametrize("text, needle", [
    ("Primary Type == 'THEFT'", "backticks"), ("class == 'a'", "backticks"), ("`Primary Type == 'x'", "not closed"),
    ("`` == 1", "empty backticks"), ("`nope` == 1", "unknown column 'nope'"), ("`class`.x == 1", "expected"),
])
def test_bad_backticks_are_one_filter_error(text, needle):
    with pytest.raises(FilterError, match=needle):
        compile_where(text, ["Primary Type", "class"], [{"Primary Type": "THEFT", "class": "a"}])


@pytest.fixture(scope="module")
def crimes(tmp_path_factory):
    from cli_checks import split_cli

    src = tmp_path_factory.mktemp("crimes-src") / "crimes.parquet"
    n = 600
    pq.write_table(pa.table({"ID": pa.array(range(n), pa.int64()),
                             "Primary Type": [["THEFT", "BATTERY", "ARSON"][i % 3] for i in range(n)],
                             "class": [["a", "b"][i % 2] for i in range(n)],
                             "v": [float(i) for i in range(n)]}), src)
    out = src.parent.parent / "crimes-ds"
    r = split_cli(src, "--out", out, "--group-by", "Primary Type,class")
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("where, expect", [
    ("`Primary Type` == 'THEFT'", lambda i: i % 3 == 0),
    ("`class` == 'a' and `Primary Type` != 'ARSON'", lambda i: i % 2 == 0 and i % 3 != 2),
    ({"Primary Type": ["THEFT", "ARSON"], "class": "b"}, lambda i: i % 3 != 1 and i % 2 == 1),
])
def test_a_generator_and_provenance_select_those_groups(crimes, where, expect):
    gen = DataGenerator(crimes, ["ID"], batch_size=1000, where=where)
    api = gen.provenance(0, epoch=0)
    assert sorted(api["source_row"]) == [i for i in range(600) if expect(i)]
    flag = json.dumps(where) if isinstance(where, dict) else where
    r = datagen_cli("provenance", crimes, "--features", "ID", "--batch", "0", "--batch-size", "1000", "--where", flag,
                    "--format", "csv")
    assert r.exit_code == 0, r.output
    assert r.output == api.to_csv()


def test_a_where_object_that_does_not_read_is_one_error_line(crimes):
    r = datagen_cli("provenance", crimes, "--features", "ID", "--batch", "0", "--where", '{"class": ')
    assert r.exit_code != 0 and r.output.count("error:") == 1 and "--where" in r.output, r.output
