"""``datagen``: inspect, verify and trace datasets made by ``split-datasets``."""

from __future__ import annotations

import json
import sys

import click

from .cli_errors import report_errors
from .manifest import read_manifest


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="datagen")
def main():
    """Inspect, verify and trace datasets made by split-datasets."""


@main.command()
@click.argument("directory")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@report_errors
def show(directory, as_json):
    """Summarise the dataset in DIRECTORY: sources, groups, shards, rows, schema, labels, time range."""
    from .show import render, summary

    manifest = read_manifest(directory)
    if as_json:
        click.echo(json.dumps(summary(manifest), indent=2, ensure_ascii=False))
    else:
        click.echo(render(manifest, directory))


@main.command()
@click.argument("directory")
@click.option("--quick", is_flag=True, help="Check sizes and row counts only, without re-hashing.")
@report_errors
def verify(directory, quick):
    """Re-hash every shard and check row counts against the manifest."""
    from .verify import verify_dataset

    report = verify_dataset(directory, full_hash=not quick)
    for problem in report.problems:
        click.echo(problem, err=True)
    if not report.ok:
        click.echo(f"FAILED: {len(report.problems)} of {report.checked} shards do not match the manifest", err=True)
        sys.exit(1)
    click.echo(f"OK: {report.checked} shards match the manifest")
