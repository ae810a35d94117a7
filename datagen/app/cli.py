"""``datagen``: inspect, verify and trace datasets made by ``split-datasets``."""

from __future__ import annotations

import json
import sys

import click

from datagen.contract.cli_edge import Group, report_errors
from datagen.contract.gcpause import gc_frozen, gc_paused
from datagen.contract.manifest import read_manifest, read_manifest_with_hash
from datagen.contract.storage import is_remote, parse_storage_options, refuse_object_store

from .trace_flags import generator_flags

STORAGE_OPTION = click.option("--storage-option", "storage_option", multiple=True, metavar="KEY=VALUE",
                              help="For a dataset URL (s3://...): passed to fsspec (repeatable).")


def _manifest(directory: str, pairs, version: int | None = None) -> object:
    if is_remote(directory):
        from datagen.contract.remote import RemoteDataset, check_remote_version

        manifest = RemoteDataset(directory, parse_storage_options(pairs)).read_manifest_with_hash()[0]
        check_remote_version(directory, version, manifest.number, "--version ", "leave out --version")
        return manifest
    from datagen.contract.storage import refuse_unused_options

    refuse_unused_options(parse_storage_options(pairs), [directory], "DIRECTORY")   # as verify and provenance do
    return read_manifest_with_hash(directory, version)[0] if version is not None else read_manifest(directory)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="datagen")
def main():
    """Inspect, verify and trace datasets made by split-datasets."""


@main.command()
@click.argument("directory")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--version", "version", type=int, help="Show this version of the dataset (see datagen log).")
@STORAGE_OPTION
@report_errors
def show(directory, as_json, version, storage_option):
    """Summarise the dataset in DIRECTORY (or a URL): sources, groups, shards, rows, schema, labels, time range."""
    from datagen.app.show import render, summary

    with gc_paused():  # reading (and replaying) a large manifest allocates a million acyclic objects
        manifest = _manifest(directory, storage_option, version)
    with gc_frozen():
        text = json.dumps(summary(manifest), indent=2, ensure_ascii=False) if as_json else render(manifest, directory)
    click.echo(text)


@main.command()
@click.argument("directory")
@click.option("--quick", is_flag=True, help="Check real paths, sizes and Parquet footers (schema, rows, row groups, source ids) without re-hashing.")
@STORAGE_OPTION
@report_errors
def verify(directory, quick, storage_option):
    """Re-hash every shard and check row counts against the manifest (a URL's shards are downloaded)."""
    from datagen.contract.verify import verify_dataset

    from datagen.contract.storage import refuse_unused_options

    options = parse_storage_options(storage_option)
    refuse_unused_options(options, [directory], "DIRECTORY")
    report = verify_dataset(directory, full_hash=not quick, storage_options=options)
    for problem in report.problems:
        click.echo(problem, err=True)
    for note in report.notes:   # not failures: sources changed since the split (contract/sourcecheck.py)
        click.echo(f"note: {note}", err=True)
    if not report.ok:
        bad = len(report.problems) - report.pack_problems
        what = [f"{bad} of {report.checked} shards fail the checks listed above"] if bad else []
        what += ["the footer pack does not match the manifest or the shards"] if report.pack_problems else []
        click.echo(f"FAILED: {'; '.join(what)}", err=True)
        sys.exit(1)
    click.echo(f"OK: {report.checked} shards match the manifest")


@main.command()
@click.argument("directory")
@click.option("--batch", "batch", type=int, help="Batch index (0-based, in the uninterrupted epoch of the replica).")
@click.option("--step", type=int, help="Same as --batch: the step of the epoch that trained it (0-based, "
              "as Keras's on_train_batch_end numbers an uninterrupted epoch).")
@click.option("--epoch", type=int, default=0, show_default=True, help="Epoch (0-based, model.fit's numbering).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="gen.config saved as JSON or YAML. A flag below given with it overrides the config's value "
              "(a note names each one overridden); without a version in it or --version, the current version.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False),
              help="A state file written by gen.checkpoint(...): its generator config (and dataset identity) is used.")
@generator_flags
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--cache-dir", help="For a dataset URL: local directory caching its shards.")
@STORAGE_OPTION
@report_errors
def provenance(directory, batch, step, epoch, config_file, state_file, fmt, storage_option, cache_dir, **flags):
    """Which source rows made batch BATCH (or step STEP) of epoch EPOCH of a generator over DIRECTORY."""
    from .trace import trace_batch

    trace_batch(directory, batch, step, epoch, config_file, state_file, fmt, storage_option, cache_dir, flags)


@main.command()
@click.argument("directory")
@report_errors
def log(directory):
    """One line per version of DIRECTORY: number, time, command, rows and shards added and removed
    (and a note on a version whose record does not check out, or whose files were vacuumed)."""
    from datagen.contract.errors import ManifestError

    from .vacuum import log_lines

    refuse_object_store(directory, "datagen log")
    lines, ok = log_lines(directory)
    for line in lines:
        click.echo(line)
    if not ok:
        raise ManifestError(f"some version records of {directory!r} are missing or do not check out (marked above); "
                            "restore _versions/ from a backup")


@main.command()
@click.argument("directory")
@click.option("--keep", type=int, required=True, help="Keep the shards of the newest KEEP versions.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@report_errors
def vacuum(directory, keep, dry_run):
    """Delete shard files that only versions older than the newest KEEP list."""
    from .vacuum import vacuum as run_vacuum

    refuse_object_store(directory, "datagen vacuum")
    run_vacuum(directory, keep, dry_run, click.echo)


@main.command()
@click.argument("directory")
@report_errors
def compact(directory):
    """Merge the part files of each group of DIRECTORY into one shard (a new version; nothing is deleted)."""
    import importlib.util

    from datagen.contract.errors import UsageError

    from .child import run_child

    refuse_object_store(directory, "datagen compact")
    # compaction is a commit, which the splitter owns (lock, journal, publish); datagen never imports it
    if importlib.util.find_spec("splitters") is None:
        raise UsageError("datagen compact needs the splitters package (installed with split-datasets)")
    code, out, err = run_child([sys.executable, "-m", "splitters.compact", directory],
                               ignore_after=True)  # signals forwarded; after it, its outcome is ours
    click.echo(out, nl=False)
    click.echo(err, nl=False, err=True)
    sys.exit(code)


@main.command()
@click.option("--rows", type=int, default=300_000, show_default=True, help="Rows in the synthetic sample.")
@click.option("--out", default="demo-output", show_default=True, help="Where the demo writes its files.")
@click.option("--epochs", type=int, default=2, show_default=True)
@report_errors
def demo(rows, out, epochs):
    """Run the whole story on a built-in sample: split, show, train, trace a batch."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .demo import run_demo

    run_demo(out=out, rows=rows, epochs=epochs, progress=sys.stderr.isatty(), say=click.echo)


@main.command()
@click.option("--out", required=True, help="Directory for the sample files.")
@click.option("--rows", type=int, default=200_000, show_default=True, help="Total rows.")
@click.option("--files", type=int, default=4, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@report_errors
def sample(out, rows, files, fmt, seed):
    """Write a synthetic time-stamped table with a learnable 0/1 label (no download)."""
    from pathlib import Path

    from datagen.contract.errors import OutputError, UsageError
    from .sample import check_sample_size, write_sample

    check_sample_size(rows, files)
    if not out.strip():
        raise UsageError("--out: expected a directory path, got ''")
    if seed < 0:
        raise UsageError(f"--seed: expected a non-negative integer, got {seed}")
    target = Path(out)
    try:
        if target.is_symlink() and not target.exists():
            raise OutputError(f"--out {out!r} is a broken symbolic link; choose an empty or new directory")
        if target.exists() and not target.is_dir():
            raise OutputError(f"--out {out!r} is an existing file, not a directory; choose an empty or new directory")
        if target.exists() and any(target.iterdir()):
            raise OutputError(f"--out {out!r} is not empty; choose an empty or new directory")
        created = not target.exists()
    except OSError as exc:  # e.g. a name too long for the filesystem
        raise OutputError(f"cannot use --out {out[:80]!r}: {exc.strerror or exc}") from None
    try:
        paths = write_sample(out, files=files, rows=rows, seed=seed, fmt=fmt)
    except OSError as exc:  # remove what this command wrote, then say where it failed
        import shutil

        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for leftover in target.glob("events-*"):
                leftover.unlink(missing_ok=True)
        raise OutputError(f"cannot write --out {out[:80]!r}: {exc.strerror or exc}") from None
    click.echo(f"wrote {rows // files * files:,} rows in {len(paths)} {fmt} files to {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
