"""Render template text in a sandboxed jinja2 environment where undefined names are errors.

jinja2 is imported on first use only (``edgectl --help`` never pays for it). The sandbox keeps
a user's ``--template-dir`` from reaching Python internals; ``StrictUndefined`` turns a typo in
a variable name into an error naming the file and line instead of an empty string.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from iotedge_cli.errors import InputError


@functools.cache
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_text(source: str, variables: Mapping[str, Any], name: str) -> str:
    """``source`` rendered with ``variables``; :class:`InputError` names ``name`` and the line."""
    import jinja2
    from jinja2.exceptions import SecurityError

    hint = "template variables: " + ", ".join(sorted(variables))
    try:
        return str(_environment().from_string(source).render(**variables))
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"{name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise InputError(f"{name}:{_line(exc)}: {exc.message}", hint=hint) from None
    except SecurityError as exc:
        raise InputError(f"{name}: not allowed in a template: {exc}") from None
    except jinja2.TemplateError as exc:
        raise InputError(f"{name}: template error: {exc}") from None


def _line(exc: BaseException) -> str:
    """The template line of an error raised while rendering (jinja2 rewrites the traceback)."""
    tb = exc.__traceback__
    line = "?"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = str(tb.tb_lineno)
        tb = tb.tb_next
    return line
