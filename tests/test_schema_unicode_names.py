"""A column named in NFC in one file and NFD in another (they look identical): the schema mismatch
says so, with both spellings escaped, and the columns are not merged."""

import unicodedata

import pytest

from cli_checks import fails

NFC = unicodedata.normalize("NFC", "Région")
NFD = unicodedata.normalize("NFD", "Région")


@pytest.mark.parametrize("first, second", [(NFC, NFD), (NFD, NFC)])
def test_same_name_in_two_unicode_forms_is_named_as_such(tmp_path, run_split, first, second):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.csv").write_text(f"{first},v\nx,1\n", encoding="utf-8")
    (d / "b.csv").write_text(f"{second},v\ny,2\n", encoding="utf-8")
    out = tmp_path / "o"
    fails(run_split(d, "--out", out, "--group-by", "v"), 1, "b.csv", f"lacks column {first!r}",
          "another Unicode form", ascii(first), ascii(second), "NFC")
    assert not out.exists()


def test_a_plainly_missing_column_gets_no_unicode_note(tmp_path, run_split):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.csv").write_text(f"{NFC},v\nx,1\n", encoding="utf-8")
    (d / "b.csv").write_text("Region,v\ny,2\n", encoding="utf-8")
    line = fails(run_split(d, "--out", tmp_path / "o", "--group-by", "v"), 1, f"lacks column {NFC!r}")
    assert "Unicode" not in line


def test_group_by_a_name_in_another_unicode_form_says_so(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_text(f"{NFD},v\nx,1\n", encoding="utf-8")
    fails(run_split(src, "--out", tmp_path / "o", "--group-by", NFC), 2, "not found", "another Unicode form",
          ascii(NFD), ascii(NFC))


@pytest.mark.parametrize("option", ["--time-column", "--label"])
def test_time_or_label_column_in_another_unicode_form_says_so(tmp_path, run_split, option):
    src = tmp_path / "a.csv"
    src.write_text(f"g,{NFD}\nx,2024-01-01\n", encoding="utf-8")
    fails(run_split(src, "--out", tmp_path / "o", "--group-by", "g", option, NFC), 2, "not found",
          "another Unicode form", ascii(NFD))
