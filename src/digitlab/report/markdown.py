"""Markdown tables, and README sections between `<!-- name:start -->` / `<!-- name:end -->`."""

import re
from pathlib import Path

from digitlab import config


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub markdown table from a list of row dictionaries."""
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |"
              for row in rows]
    return "\n".join(lines)


def replace_section(text: str, name: str, content: str) -> str:
    """Replace what stands between `<!-- name:start -->` and `<!-- name:end -->` in `text`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README has no {start} ... {end} markers for section {name!r}.")
    return pattern.sub(lambda _: f"{start}\n{content.strip()}\n{end}", text)


def update_readme(name: str, content: str, readme: Path | None = None) -> Path:
    """Write `content` into the README section `name` (between its markers)."""
    readme = Path(readme or config.PROJ_ROOT / "README.md")
    readme.write_text(replace_section(readme.read_text(), name, content))
    return readme


def section_text(text: str, name: str) -> str | None:
    """What stands between the markers of section `name` in `text`, stripped; None if absent."""
    match = re.search(re.escape(f"<!-- {name}:start -->") + "(.*?)"
                      + re.escape(f"<!-- {name}:end -->"), text, re.DOTALL)
    return match.group(1).strip() if match else None
