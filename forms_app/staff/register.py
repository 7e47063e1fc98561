"""The insurer's policy register in the console (/staff/register) and by command
(`flask --app forms_app import-roster FILE`): what is loaded, the import history, and importing a
roster (supervisors only). The work is done by `storage.register.import_roster`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from flask import abort, current_app, render_template, request
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, FileField

from ..content import get_rules
from ..extensions import csrf
from ..storage import get_crypto, get_db
from ..storage.register import (
    REFUSED,
    ImportReport,
    import_history,
    import_roster,
    import_roster_file,
    register_summary,
)
from ..storage.staff import is_supervisor
from ..web.forms import Form
from . import bp
from .views import actor, today

# a roster of a few hundred thousand insured is tens of MB as CSV; the app-wide request limit
# (MAX_CONTENT_LENGTH) is for applicants' uploads. Larger files: the import-roster command.
ROSTER_MAX_BYTES = 256 * 1024 * 1024


class ImportForm(Form):
    roster = FileField("名册文件（CSV 或 Excel .xlsx）",
                       render_kw={"accept": ".csv,.xlsx,text/csv,application/vnd."
                                            "openxmlformats-officedocument.spreadsheetml.sheet"})
    dry_run = BooleanField("只检查，不保存（试导入）")


def _may_import() -> bool:
    return is_supervisor(get_db(), current_user.user_id)


def _page(form: ImportForm, report: ImportReport | None = None, status: int = 200) -> Any:
    return render_template(
        "staff/register.html", summary=register_summary(get_db()),
        history=import_history(get_db()), form=form, report=report,
        may_import=_may_import(), refused_outcome=REFUSED,
        columns=get_rules().content.roster_file.columns), status


@bp.get("/register")
def register_page() -> Any:
    return _page(ImportForm(formdata=None))


@bp.post("/register")
@csrf.exempt  # checked by form.validate(), after the larger body limit below is set
def register_import() -> Any:
    if not _may_import():
        abort(403)
    request.max_content_length = ROSTER_MAX_BYTES  # before the body is read
    form = ImportForm()
    upload = form.roster.data
    if not form.validate():
        if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
            form.roster.errors = ["页面停留时间较长，为了安全请重新选择文件后再导入。"]
        return _page(form, status=400)
    if not isinstance(upload, FileStorage) or not upload.filename:
        form.roster.errors = ["请选择要导入的名册文件。"]
        return _page(form, status=422)
    report = import_roster(get_db(), get_crypto(), get_rules().content.roster_file,
                           upload.stream, filename=os.path.basename(upload.filename),
                           actor=actor(), today=today(), dry_run=bool(form.dry_run.data))
    return _page(ImportForm(formdata=None), report, 422 if report.outcome == REFUSED else 200)


@bp.cli.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by", default="cli", help="Who imports (kept in the history).")
@click.option("--dry-run", is_flag=True, help="Check the file and report, change nothing.")
def import_roster_command(file: Path, by: str, dry_run: bool) -> None:
    """Import the insurer's policy roster (CSV or .xlsx) into the register."""
    with current_app.test_request_context():
        report = import_roster_file(get_db(), get_crypto(), get_rules().content.roster_file,
                                    file, actor=by, today=today(), dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
    if report.outcome == REFUSED:
        raise SystemExit(1)
