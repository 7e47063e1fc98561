"""The base of every form in the app, and fields whose values mean exactly what they say.

`Form` gives a form's text fields only the text parts of a multipart body: a part sent as a
file under a text field's name (a hostile or broken client) is not that field's value, so the
field is empty and gets its own message, never a file object where text is expected (a 500).
Text with control characters (NUL...) gets a message at its field, never reaches a database.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import BooleanField, FileField, HiddenField, MultipleFileField
from wtforms.fields.core import UnboundField

from .edge import has_control_chars

SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _file_field_names(form_class: type) -> set[str]:
    return {name for name in dir(form_class)
            if isinstance(field := getattr(form_class, name, None), UnboundField)
            and issubclass(field.field_class, FileField | MultipleFileField)}


class Form(FlaskForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args and "formdata" not in kwargs and request.method in SUBMIT_METHODS \
                and request.files:
            # only the file fields take file parts; everything else reads the text parts
            wanted = _file_field_names(type(self))
            files = MultiDict([(k, v) for k, v in request.files.items(multi=True)
                               if k in wanted])
            kwargs["formdata"] = CombinedMultiDict((files, request.form))
        super().__init__(*args, **kwargs)
        for field in self._fields.values():
            # a hidden token with control characters is no token (the view issues a new one)
            if isinstance(field, HiddenField) and isinstance(field.data, str) \
                    and has_control_chars(field.data):
                field.data = ""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self._fields.values():
            if isinstance(field.data, str) and not isinstance(field, HiddenField) \
                    and has_control_chars(field.data) and not field.errors:
                label = field.label.text if field.label else ""
                field.errors = [*field.errors, f"{label}里有无法显示的字符，请删除后重新填写。"]
                valid = False
        return valid


class ConsentField(BooleanField):
    """Checked only by the exact value its checkbox sends ("y"): "0", "no", "off", "False",
    spaces, several values or nothing all mean "not given"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = len(valuelist) == 1 and valuelist[0] == "y"
