"""``edgectl templates``: the module templates edgectl ships."""

from __future__ import annotations

import typer

from iotedge_cli.cli.common import console, error_boundary, print_json

app = typer.Typer(
    help="List the module templates that 'edgectl new-module --lang' offers.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("list")
def list_templates(
    as_json: bool = typer.Option(False, "--json", help="One JSON document listing the templates."),
) -> None:
    """List the bundled module templates: language and what the template contains."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.scaffold.templates import describe_languages, template_root

        found = describe_languages()
        root = template_root()
    if as_json:
        print_json({"root": str(root), "templates": found})
        return
    out = console()
    width = max((len(t["language"]) for t in found), default=0)
    for t in found:
        out.print(f"{t['language']:<{width}}  {t['description']}", markup=False)
    out.print(
        f"({len(found)} templates in {root}; use your own with 'edgectl new-module --template-dir DIR')",
        markup=False,
    )
