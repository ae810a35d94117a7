"""``split-datasets``: split a table into hive-style Parquet shards plus a lineage manifest."""

from __future__ import annotations

from splitters.allocator import keep_freed_memory

keep_freed_memory()   # the command tunes Arrow's allocator before pyarrow loads: see allocator.py

import sys  # noqa: E402

import click  # noqa: E402

from datagen.contract.cli_edge import Command, report_errors  # noqa: E402
from datagen.contract import validate as v  # noqa: E402
from datagen.contract.errors import ConfigError  # noqa: E402

from splitters.config import SplitConfig, load_config_file, parse_bytes  # noqa: E402

OPTIONS_HELP = "Options may also come from --config FILE (YAML, same keys); flags win."


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]}, epilog=OPTIONS_HELP)
@click.argument("inputs", nargs=-1)
@click.option("--out", "-o", help="Output dataset directory (must be empty or absent).")
@click.option("--time-column", help="Column holding each row's time (optional: without it, group parts must be "
              "columns and shards keep source file and row order).")
@click.option("--group-by", help="Comma-separated parts: year, month, day, hour, weekday, date, or column names.")
@click.option("--label", help="Label column (its value counts are recorded per shard).")
@click.option("--time-unit", type=click.Choice(["s", "ms", "us", "ns"]),
              help="Unit of epoch-number times; ns also keeps ISO text to the nanosecond (years 1677-2262).")
@click.option("--timezone", help="Time zone deciding a row's calendar day (default UTC).")
@click.option("--naive-timezone", help="Time zone whose wall-clock times the zone-less times are (ISO text "
              "without Z or an offset, timestamps without a zone; default UTC).")
@click.option("--time-format", help="strptime format of text times not in ISO-8601, e.g. '%m/%d/%Y %I:%M:%S %p' "
              "(default: ISO-8601).")
@click.option("--encoding", help="Text encoding of CSV inputs, e.g. latin-1 (default UTF-8).")
@click.option("--on-bad-time", type=click.Choice(["error", "drop"]), help="Unparseable times: fail (default) or drop.")
@click.option("--on-missing-time", type=click.Choice(["group", "drop", "error"]),
              help="Empty/NA times: a null group of their own (default), drop, or fail.")
@click.option("--max-rows-per-shard", type=int, help="Cut larger groups into numbered parts.")
@click.option("--compression", type=click.Choice(["zstd", "snappy", "lz4", "none"]), help="Parquet codec (default zstd).")
@click.option("--min-compression-saving", type=float,
              help="Store a column uncompressed unless the codec saves this fraction on a sample (default 0.15; 0 = always compress).")
@click.option("--compact/--no-compact", default=None, help="float64->float32, ints to the smallest lossless type.")
@click.option("--row-group-size", type=int, help="Rows per Parquet row group (default 65536).")
@click.option("--memory-limit", help="Memory budget for local work, e.g. 4GB (default: a quarter of RAM).")
@click.option("--staging-memory", help="Staged bytes kept in memory instead of staged files, e.g. 2GB "
              "(default 0: every staged batch goes to a staged file).")
@click.option("--scheduler", help="'local' (default) or a dask.distributed address tcp://HOST:PORT.")
@click.option("--blocksize", help="Bytes of an uncompressed CSV file per parallel task, e.g. 64MB (default).")
@click.option("--workers", type=int, help="Local worker threads (default: CPU count).")
@click.option("--staging", help="Object-store --out only: a local directory or URL for the staged files "
              "(default: a temporary directory; with --scheduler tcp://..., a prefix in --out); the run stages "
              "in its own datagen-staging-<host>-<pid>-<token> child there and deletes only that.")
@click.option("--storage-option", "storage_option", multiple=True, metavar="KEY=VALUE",
              help="Passed to fsspec for every URL (repeatable), e.g. endpoint_url=http://host:9000.")
@click.option("--overwrite", is_flag=True, default=None, help="Replace a previous split in --out.")
@click.option("--append", is_flag=True, default=None,
              help="Add INPUTS to the dataset in --out as a new version, with its split settings.")
@click.option("--no-progress", is_flag=True, default=None, help="No progress bar.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML file with the same keys.")
@report_errors
def main(inputs, config_file, no_progress, memory_limit, **flags):
    """Split INPUTS (CSV or Parquet files, directories, globs or fsspec URLs) into
    one Parquet shard per group, with a manifest recording what went where."""
    options = load_config_file(config_file) if config_file else {}
    if inputs:
        options["inputs"] = list(inputs)
    pairs = flags.pop("storage_option")
    if pairs:
        from datagen.contract.storage import parse_storage_options

        options["storage_options"] = {**options.get("storage_options", {}), **parse_storage_options(pairs)}
    for key, value in flags.items():
        if value is not None:
            options[key] = value
    if memory_limit is not None:
        options["memory_limit"] = parse_bytes(memory_limit)
    if no_progress:
        options["progress"] = False
    options["progress"] = v.boolean(options.get("progress", True), "progress") and sys.stderr.isatty()
    appending = v.boolean(options.get("append", False), "append")
    for required, flag in (("inputs", "INPUTS"), ("out", "--out")):
        if not options.get(required):
            raise ConfigError(f"missing {flag} (give it on the command line or in --config)")
    if appending:
        from splitters.append import run_append

        if options.get("overwrite"):
            raise ConfigError("--append and --overwrite exclude each other: --append adds to the dataset in --out, "
                              "--overwrite replaces it; pass one")
        summary = run_append(options)
        if summary.action:
            click.echo(summary.action)
        if summary.status == "nothing to append":
            click.echo(f"nothing to append: every input is already in the dataset; no new version committed "
                       f"-> {summary.out}")
            return
        click.echo(summary.line())
        for note in summary.notes:
            click.echo(f"note: {note}", err=True)
        return
    cfg = SplitConfig(**options)
    from splitters.split import run_split

    summary = run_split(cfg)
    if summary.action in ("replaced", "restarted after an interrupted split"):
        click.echo(f"{summary.action}: {summary.out}")
    elif summary.action.startswith("up to date"):
        click.echo(summary.action)
    click.echo(summary.line())
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    if summary.unlisted_bytes:
        click.echo(f"older versions still hold {summary.unlisted_bytes / 1e6:,.1f} MB in shards this version does "
                   f"not list; free them with: datagen vacuum {summary.out} --keep 1")


if __name__ == "__main__":  # pragma: no cover
    main()
