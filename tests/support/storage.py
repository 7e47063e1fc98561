"""Requests made directly through the storage layer (as the online form does), and counting
rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from forms_app.storage.database import Database
from forms_app.storage.requests import NewRequest
from service_rules.deadlines import shanghai_today
from service_rules.promises import snapshot_service
from tests.support.forms import PDF, VALID_ID


def new_request(rules, token: str = "tok-1", service_id: str = "green_channel",
                use_id: str = "outpatient", id_number: str = VALID_ID,
                files: bool = True) -> NewRequest:
    today = shanghai_today()
    return NewRequest(
        service_id=service_id, use_id=use_id, insured_name="张三", id_number=id_number,
        phone="13800138000", applicant_relation="本人", applicant_name=None,
        applicant_phone=None, policy_number="P-1", policy_effective=today - dt.timedelta(300),
        diagnosis_date=today - dt.timedelta(10), first_diagnosis=True, city_id="beijing",
        hospital_id="bj-pumch", details={"note": "测试"}, consent_text="同意",
        submission_token=token, content_version=rules.content.version,
        service_snapshot=snapshot_service(rules.content, service_id), request_date=today,
        files=[("pathology_report", PDF, "pdf", "application/pdf")] if files else [])


def parts(app):
    return (app.extensions["forms_db"], app.extensions["forms_crypto"],
            Path(app.config["UPLOAD_DIR"]))


def count(db: Database, model) -> int:
    session = db.read_session()
    try:
        return session.scalar(select(func.count()).select_from(model))
    finally:
        session.close()
