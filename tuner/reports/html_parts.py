"""Small HTML pieces every section of the report is made of: tables, notes, escaping."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from ..attrs import UNITS

if TYPE_CHECKING:
    import optuna


def _table(head: list[str], rows: list[list[str]], *, raw: bool = False,
           text_cols: set[int] | None = None, row_classes: list[str] | None = None) -> str:
    """A table; cells are escaped unless raw (cells built here from escaped parts)."""
    text_cols = text_cols if text_cols is not None else {0}

    def cell(tag: str, i: int, v: str) -> str:
        cls = ' class="text"' if i in text_cols else ""
        return f"<{tag}{cls}>{v if raw else _e(v)}</{tag}>"

    out = ["<table><thead><tr>", *(cell("th", i, _e(h) if raw else h)
                                   for i, h in enumerate(head)), "</tr></thead><tbody>"]
    for n, r in enumerate(rows):
        cls = f' class="{row_classes[n]}"' if row_classes else ""
        out.append(f"<tr{cls}>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _why(text: str) -> str:
    return f'<p class="why">{text}</p>'


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _e(text: Any) -> str:
    return html.escape(str(text))


def _units(study: "optuna.Study") -> dict[str, str]:
    """Parameters written with units: shown as 128m, not 134217728."""
    return study.user_attrs.get(UNITS) or {}


def _fig_html(fig: Any) -> str:
    fig.update_layout(template="plotly_white")
    return fig.to_html(full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})
