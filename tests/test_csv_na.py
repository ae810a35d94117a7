"""Missing values in a CSV number, bool or time column are spelt as pandas' read_csv spells them by
default (one list for every kind, the one missing_times.py uses for times): "None" and "<NA>" too."""

import pandas as pd
import pytest

from csv_cases import split_rows
from splitters.missing_times import NA_TEXT


@pytest.mark.parametrize("na", ["None", "<NA>", "null", "NA", "nan"])
def test_every_na_spelling_is_missing_in_a_number_column_as_in_pandas(tmp_path, run_split, na):
    src = tmp_path / "a.csv"
    src.write_text(f"t,g,x,b,s\n2024-01-01T00:00:00Z,0,1,true,a\n2024-01-02T00:00:00Z,1,{na},{na},{na}\n"
                   "2024-01-03T00:00:00Z,0,3,false,c\n")
    got, m = split_rows(run_split, src, tmp_path / "out", group_by="g")
    assert pd.read_csv(src)["x"].dtype.kind in "if"
    assert m.column_types["x"] == "int64" and m.column_types["b"] == "bool"
    assert got["x"].isna().tolist() == [False, True, False] and got["b"].isna().tolist() == [False, True, False]
    assert got["s"].tolist() == ["a", na, "c"]          # text keeps its characters


def test_the_na_list_is_pandas_default():
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(NA_TEXT) | {""} == set(STR_NA_VALUES)
