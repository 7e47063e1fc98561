"""Requests with personal data of their own (name, ID number, phone, a file) for the privacy
tests, to search for after deletion; and a sender that only records what it was given."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from forms_app.content import get_rules
from forms_app.messages.senders import OutgoingMessage
from forms_app.storage import get_crypto, get_db
from forms_app.storage.requests import NewRequest, create_request
from service_rules.promises import compute_promises, snapshot_service
from tests.support.forms import make_id


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str
    applicant_phone: str
    file: bytes            # the uploaded file's bytes (a PDF)

    def traces(self) -> dict[str, bytes]:
        """Everything that must be gone after deletion, as the bytes searched for."""
        return {"name": self.name.encode(), "id_number": self.id_number.encode(),
                "id_masked": (self.id_number[:6] + "*" * 8 + self.id_number[-4:]).encode(),
                "phone": self.phone.encode(), "applicant_phone": self.applicant_phone.encode(),
                "phone_masked": (self.phone[:3] + "****" + self.phone[-4:]).encode(),
                "file": self.file}


def person(n: int) -> Person:
    """A distinct insured: a valid ID number, mobiles, and a PDF with its own marker."""
    prefix = f"3201021980{n % 12 + 1:02d}01{n % 1000:03d}"
    name = f"测试{'甲乙丙丁戊己庚辛壬癸'[n % 10]}{'子丑寅卯辰巳午未申酉'[n // 10 % 10]}某"
    return Person(name=name,
                  id_number=make_id(prefix), phone=f"1390{n:07d}",
                  applicant_phone=f"1370{n:07d}",
                  file=b"%PDF-1.4\n% marker-" + secrets.token_hex(12).encode()
                  + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


def make_request(app: Flask, who: Person, service_id: str = "second_opinion", *,
                 request_date: dt.date, city_id: str = "beijing") -> str:
    """A request of `who` made as the online form makes it (store layer), a family member
    applying with a phone of their own, one file; returns its reference."""
    with app.app_context():
        rules = get_rules()
        content = rules.content
        service = content.service(service_id)
        use = service.uses[0].id
        snapshot = snapshot_service(content, service_id)
        initial = [p.as_dict() for p in compute_promises(rules.calendar, snapshot, use,
                                                         {"request": request_date})]
        hospital = next((h.id for h in content.hospitals_in(city_id, service_id)), None)
        new = NewRequest(
            service_id=service_id, use_id=use, insured_name=who.name, id_number=who.id_number,
            phone=who.phone, applicant_relation="子女", applicant_name=who.name + "之女",
            applicant_phone=who.applicant_phone, policy_number=f"PX{who.id_number[-8:]}",
            policy_effective=dt.date(2020, 1, 1), diagnosis_date=request_date - dt.timedelta(30),
            first_diagnosis=True, city_id=city_id, hospital_id=hospital,
            details={"note_by_applicant": f"{who.name}的病历"},
            consent_text=content.product.sensitive_consent,
            submission_token=secrets.token_hex(16), content_version=content.version,
            service_snapshot=snapshot, request_date=request_date,
            files=[("pathology_report", who.file, "pdf", "application/pdf")],
            initial_promises=initial, consent_version="c" * 12,
            notice_version=content.privacy_file.version)
        reference, created = create_request(get_db(), get_crypto(),
                                            Path(app.config["UPLOAD_DIR"]), new)
        assert created
        return reference


class RecordingSender:
    """A sender that keeps every message it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)


def table_texts(conn: Any, tables: list[str]) -> str:
    """Every row of every table as text (PostgreSQL: `row::text`)."""
    out = []
    for table in tables:
        out += [r[0] for r in conn.exec_driver_sql(f'SELECT t::text FROM "{table}" t')]
    return "\n".join(out)
