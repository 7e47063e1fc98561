"""A `<select>` (`ListedSelectField`) whose options are rendered once per process.

WTForms builds every `<option>` tag anew on every render, each through `html_params` (a
`Markup.format` per attribute): the city and hospital lists of a form (about 70 options) took
more than half of the time to render the whole apply form. Their options come from the content
and repeat from one render to the next, so each distinct option (value, label, attributes,
selected or not) is rendered by WTForms' own `Select.render_option` the first time and reused
after: the same markup, built once.
"""

from __future__ import annotations

import functools
from typing import Any

from markupsafe import Markup
from wtforms import SelectField
from wtforms.fields.choices import Choice
from wtforms.widgets import Select


@functools.lru_cache(maxsize=4096)
def _option(value: Any, label: Any, selected: bool,
            render_kw: tuple[tuple[str, Any], ...]) -> Markup:
    return Select.render_option(Choice(value, label, selected, dict(render_kw)))


class ListedSelect(Select):
    """WTForms' `Select`, with each distinct option rendered once (see the module's note)."""

    @classmethod
    def render_option(cls, choice: Choice, **kwargs: Any) -> Markup:
        if not kwargs:
            try:
                return _option(choice.value, choice.label, bool(choice.selected),
                               tuple(sorted((choice.render_kw or {}).items())))
            except TypeError:  # an unhashable value: rendered as WTForms does, every time
                pass
        return super().render_option(choice, **kwargs)


class ListedSelectField(SelectField):
    """WTForms' `SelectField` drawn by `ListedSelect`."""

    widget = ListedSelect()
