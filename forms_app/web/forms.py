"""The base of every form in the app, and fields whose values mean exactly what they say.

`Form` gives a form's text fields only the text parts of a multipart body: a part sent as a
file under a text field's name (a hostile or broken client) is not that field's value, so the
field is empty and gets its own message, never a file object where text is expected (a 500).
Text with control characters (NUL...) gets a message at its field, never reaches a database.
The other way round, a text part under a file field's name is a file werkzeug could not read
as one (a raw line break in its filename, a multipart/mixed part holding files): the file
field gets a message, so the request is never stored without the document. So does a file
part with content but no filename (a browser sends an empty name only with an empty body).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, FileStorage, MultiDict
from wtforms import BooleanField, FileField, HiddenField, MultipleFileField
from wtforms.fields.core import UnboundField

from .edge import has_control_chars

SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _file_field_names(form_class: type) -> set[str]:
    return {name for name in dir(form_class)
            if isinstance(field := getattr(form_class, name, None), UnboundField)
            and issubclass(field.field_class, FileField | MultipleFileField)}


UNREAD_FILE = ("有一个文件没有正确收到（文件名里可能有特殊字符），"
               "请给文件改个名字、重新选择后再提交。")


def _nameless_with_content(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, FileStorage) and not item.filename:
            content = item.stream.read(1)
            item.stream.seek(0)
            if content:
                return True
    return False


class Form(FlaskForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        unread: set[str] = set()
        if not args and "formdata" not in kwargs and request.method in SUBMIT_METHODS \
                and request.mimetype == "multipart/form-data":
            # only the file fields take file parts; everything else reads the text parts
            wanted = _file_field_names(type(self))
            unread = wanted & set(request.form)
            files = MultiDict([(k, v) for k, v in request.files.items(multi=True)
                               if k in wanted])
            text = MultiDict([(k, v) for k, v in request.form.items(multi=True)
                              if k not in wanted]) if unread else request.form
            kwargs["formdata"] = CombinedMultiDict((files, text))
        super().__init__(*args, **kwargs)
        self.unread_file_fields = unread
        for field in self._fields.values():
            # a hidden token with control characters is no token (the view issues a new one)
            if isinstance(field, HiddenField) and isinstance(field.data, str) \
                    and has_control_chars(field.data):
                field.data = ""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for name in sorted(self.unread_file_fields):
            field = self._fields.get(name)
            if field is not None:
                field.errors = [*field.errors, UNREAD_FILE]
            valid = False
        for field in self._fields.values():
            if isinstance(field, FileField | MultipleFileField) \
                    and _nameless_with_content(field.data) and UNREAD_FILE not in field.errors:
                field.errors = [*field.errors, UNREAD_FILE]
                valid = False
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
