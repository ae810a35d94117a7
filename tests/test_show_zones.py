"""``datagen show`` says in which zone the days were filed and, when set, in which zone zone-less
times were read (a hostile tester could not see either)."""


def test_show_names_the_zones_the_days_were_filed_in(tmp_path, run_split, run_datagen):
    (tmp_path / "trips.csv").write_text("ts,v\n2023-01-01 00:32:10,1\n")
    plain, local = tmp_path / "plain", tmp_path / "local"
    assert run_split(tmp_path / "trips.csv", "--out", plain, "--time-column", "ts", "--group-by", "date").exit_code == 0
    r = run_split(tmp_path / "trips.csv", "--out", local, "--time-column", "ts", "--group-by", "date",
                  "--timezone", "America/New_York", "--naive-timezone", "America/New_York")
    assert r.exit_code == 0, r.output
    shown = run_datagen("show", plain)
    assert shown.exit_code == 0 and "(days in UTC)" in shown.output, shown.output
    shown = run_datagen("show", local)
    assert "(days in America/New_York, zone-less times read in America/New_York)" in shown.output, shown.output
