"""Sphinx configuration for the Asteramisk docs (``sphinx-build -W docs docs/_build``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asteramisk import __version__  # noqa: E402
from asteramisk.config import VARIABLES  # noqa: E402

project = "Asteramisk"
author = "The Asteramisk developers"
copyright = "2024-2026, The Asteramisk developers"
release = version = __version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports: list[str] = []
nitpicky = False
exclude_patterns = ["_build", "_generated/README.rst"]
html_theme = "alabaster"
suppress_warnings = ["ref.python"]


def _config_table() -> str:
    """Every configuration variable, from the code that defines them."""
    rows = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 30 15 20 35",
        "",
        "   * - Variable (and environment variable)",
        "     - Type",
        "     - Default",
        "     - Meaning",
    ]
    for variable in VARIABLES:
        default = "required" if variable.required else f"``{variable.default!r}``"
        rows += [
            f"   * - ``{variable.name}``",
            f"     - {variable.type_name}",
            f"     - {default}",
            f"     - {variable.help}",
        ]
    return "\n".join(rows) + "\n"


generated = Path(__file__).parent / "_generated"
generated.mkdir(exist_ok=True)
(generated / "config_table.rst").write_text(_config_table())
