"""Scale-out: two app instances (two gunicorn masters, two workers each) on one PostgreSQL
and one shared upload folder, under concurrent submissions. No reference number is given
twice, every acknowledged request is stored once and whole.

To make reference collisions happen (8 characters of a 30-letter alphabet never collide in a
test), the workers draw references from a 2-letter alphabet (256 numbers) through a gunicorn
hook: both instances then race for the same numbers and must retry on the unique index.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from forms_app.storage.crypto import Crypto
from forms_app.storage.database import Database
from forms_app.storage.models import ServiceRequest
from tests.support.consistency import acknowledged_problems, store_problems
from tests.support.gunicorn_harness import (
    PDF_BYTES,
    SUBMIT_PATH,
    Client,
    GunicornServer,
    Submission,
    csrf_token,
    reference_from,
    second_opinion_submission,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLIENTS = 8
PER_CLIENT = 8               # 64 requests for 256 possible numbers: many collisions
SMALL_ALPHABET = "23"

HOOK = f'''
def post_worker_init(worker):
    import service_rules.identity
    service_rules.identity.REFERENCE_ALPHABET = "{SMALL_ALPHABET}"
'''


def test_two_instances_on_one_postgres_never_share_a_reference(tmp_path: Path,
                                                               pg_scratch_url: str) -> None:
    hook = tmp_path / "small_references.py"
    hook.write_text(HOOK)
    shared_uploads = tmp_path / "shared-uploads"
    a = GunicornServer(tmp_path / "a", database_url=pg_scratch_url, workers=2,
                       config_file=hook)
    b = GunicornServer(tmp_path / "b", database_url=pg_scratch_url, workers=2,
                       config_file=hook, secret_key=a.secret_key, data_key=a.data_key,
                       hash_key=a.hash_key)
    a.upload_dir = b.upload_dir = shared_uploads
    acked: dict[str, Submission] = {}
    answers: list[int] = []
    lock = threading.Lock()

    def client_run(server: GunicornServer) -> None:
        client = Client(server.base_url)
        token = csrf_token(client.get(SUBMIT_PATH)[2])
        for _ in range(PER_CLIENT):
            sub = second_opinion_submission(token)
            status, headers, _body = client.post_multipart(SUBMIT_PATH, sub.fields, sub.files)
            ref = reference_from(status, headers)
            with lock:
                answers.append(status)
                if ref:
                    assert ref not in acked, f"{ref} acknowledged twice"
                    acked[ref] = sub

    with a, b:
        threads = [threading.Thread(target=client_run, args=(a if i % 2 else b,), daemon=True)
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)

    assert answers == [303] * (CLIENTS * PER_CLIENT), sorted(set(answers))
    assert len(acked) == CLIENTS * PER_CLIENT
    assert all(set(ref) <= set(SMALL_ALPHABET) for ref in acked)  # the hook was in force
    db = Database(pg_scratch_url)
    try:
        with db.read_session() as s:
            duplicates = s.execute(select(ServiceRequest.reference, func.count())
                                   .group_by(ServiceRequest.reference)
                                   .having(func.count() > 1)).all()
            total = s.scalar(select(func.count()).select_from(ServiceRequest))
    finally:
        db.dispose()
    assert duplicates == []
    assert total == len(acked)
    crypto = Crypto(a.data_key, a.hash_key)
    assert acknowledged_problems(pg_scratch_url, shared_uploads, crypto, acked, PDF_BYTES) == []
    assert store_problems(pg_scratch_url, shared_uploads, crypto) == []
