"""The audit log is a hash chain: verify_audit names an edited, inserted or deleted row."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from reviews.models import AuditEvent, Service
from reviews.models.audit import CHAIN_START, audit_row_digest
from reviews.services.audit import audit_chain_seal, audit_record, audit_record_many, audit_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(reviewer, django_capture_on_commit_callbacks):
    """Five sealed rows, written the way actions write them."""
    service = Service.objects.create(name="billing")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            audit_record(
                actor=reviewer, verb="service.update", target=service, data={"n": n, "w": 1.5}
            )
        audit_record_many(actor=None, verb="service.touch", targets=[(service, "", {"n": 4})])
    return list(AuditEvent.objects.order_by("chain_seq"))


def verify_audit(*args: str) -> tuple[int, dict]:
    """`manage.py verify_audit --json`: (exit status, the JSON document)."""
    out = StringIO()
    try:
        call_command("verify_audit", "--json", *args, stdout=out)
        status = 0
    except SystemExit as exc:
        status = exc.code
    return status, json.loads(out.getvalue())


def test_rows_are_sealed_into_one_chain_after_their_transaction_commits(chain):
    assert [row.chain_seq for row in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == CHAIN_START
    for previous, row in zip(chain, chain[1:], strict=False):
        assert row.prev_hash == previous.row_hash
    status, report = verify_audit()
    assert status == 0
    assert report == {"ok": True, "checked": 5, "problems": []}


def test_an_edited_row_is_named(chain):
    AuditEvent.objects.filter(pk=chain[2].pk).update(actor_label="someone-else")
    status, report = verify_audit()
    assert status == 1
    assert [(p["id"], p["seq"]) for p in report["problems"]] == [(chain[2].pk, 3)]
    assert "edited" in report["problems"][0]["problem"]


def test_an_edited_data_field_is_named_even_inside_json(chain):
    AuditEvent.objects.filter(pk=chain[1].pk).update(data={"n": 1, "w": 2.5})
    assert [p.event_id for p in audit_verify().problems] == [chain[1].pk]


def test_a_deleted_row_is_named_by_the_gap_it_leaves(chain):
    AuditEvent.objects.filter(pk=chain[1].pk)._raw_delete(AuditEvent.objects.db)
    status, report = verify_audit()
    assert status == 1
    (problem,) = report["problems"]
    assert problem["id"] == chain[2].pk
    assert "1 row(s) deleted between #1" in problem["problem"]


def test_a_row_inserted_with_a_forged_hash_breaks_the_link_after_it(chain):
    # Make room at #3 by moving the rest up, then forge a row that hashes correctly on its own.
    for row in reversed(chain[2:]):
        AuditEvent.objects.filter(pk=row.pk).update(chain_seq=row.chain_seq + 1)
    forged = AuditEvent(
        actor_label="mallory", verb="decision.approve", target_type="proposal", target_id="9"
    )
    forged.created_at = timezone.now()
    forged.data = {}
    digest = audit_row_digest(forged, prev_hash=chain[1].row_hash, chain_seq=3)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_label="mallory",
                verb="decision.approve",
                target_type="proposal",
                target_id="9",
                created_at=forged.created_at,
                chain_seq=3,
                prev_hash=chain[1].row_hash,
                row_hash=digest,
            )
        ]
    )
    problems = audit_verify().problems
    # The moved rows no longer hash (their seq is part of the content), and the row after the
    # forged one does not follow it.
    assert chain[2].pk in {p.event_id for p in problems}
    assert all(p.event_id != chain[0].pk for p in problems)


def test_a_row_written_around_the_audit_writer_is_named_once_it_is_old(chain):
    stray = AuditEvent.objects.create(
        actor_label="system", verb="finding.status", target_type="finding", target_id="1"
    )
    assert audit_verify().ok  # just written: it may still be waiting for its seal
    AuditEvent.objects.filter(pk=stray.pk).update(created_at=timezone.now() - timedelta(hours=1))
    (problem,) = audit_verify().problems
    assert problem.event_id == stray.pk and "not in the chain" in problem.problem


def test_last_checks_only_the_tail(chain):
    AuditEvent.objects.filter(pk=chain[0].pk).update(verb="edited")
    assert audit_verify(last=2).ok
    assert audit_verify(last=2).checked == 2
    assert not audit_verify().ok


def test_sealing_twice_changes_nothing(chain):
    assert audit_chain_seal() == 0
    assert list(AuditEvent.objects.order_by("chain_seq").values_list("row_hash", flat=True)) == [
        row.row_hash for row in chain
    ]


def test_verify_audit_prints_readable_text(chain):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "5 row(s) checked: intact" in out.getvalue()
