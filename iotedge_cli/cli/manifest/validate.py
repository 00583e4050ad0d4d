"""``edgectl manifest validate``: lint manifests and templates offline."""

from __future__ import annotations

from pathlib import Path

import typer

from iotedge_cli.cli.common import OutputFormat, console, error_boundary
from iotedge_cli.errors import ExitCode


def _codes(values: list[str] | None) -> tuple[str, ...]:
    return tuple(c.strip() for v in values or [] for c in v.split(",") if c.strip())


def validate(
    paths: list[Path] = typer.Argument(
        ..., help="Manifests or templates (JSON or YAML) to check.", show_default=False
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.human,
        "--format",
        "-f",
        help="Output: human, json, github (annotations), sarif.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail the run too (exit 1)."),
    template: bool | None = typer.Option(
        None,
        "--template/--generated",
        help="Treat files as templates (placeholders allowed) or as generated manifests. "
        "Default: by name (*template*), a $schema-template key, or bare ${VAR} values.",
        show_default=False,
    ),
    select: list[str] = typer.Option(
        None,
        "--select",
        help="Only report these codes or prefixes (E2, W501); repeat or comma-separate.",
    ),
    ignore: list[str] = typer.Option(
        None, "--ignore", help="Drop these codes or prefixes; repeat or comma-separate."
    ),
) -> None:
    """Lint deployment manifests: schema, routes, createOptions, images, limits.

    Exit 0 when clean, 1 when an error (or with --strict a warning) is found, 2 when a file
    cannot be read or parsed.
    """
    fmt = OutputFormat.json if as_json else output_format
    with error_boundary(as_json=fmt is OutputFormat.json):
        from iotedge_cli.cli.render import emit
        from iotedge_cli.manifest.lint import LintOptions, all_rules, lint_paths

        options = LintOptions(
            strict=strict, select=_codes(select), ignore=_codes(ignore), template=template
        )
        report = lint_paths(paths, options)
        emit(report, fmt, all_rules(), console())
    if report.unreadable:
        raise typer.Exit(ExitCode.USAGE)
    if report.errors or (strict and report.warnings):
        raise typer.Exit(ExitCode.FINDINGS)
