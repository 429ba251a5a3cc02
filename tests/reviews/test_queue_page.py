"""The review queue at "/": filters, sorting, pagination, empty states, access, query count."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews.models import Finding, Service

_ids = itertools.count(1)


def make_finding(service: Service, **fields) -> Finding:
    n = next(_ids)
    values = {
        "kind": Finding.Kind.REGRESSION,
        "source": "detector",
        "external_id": f"ext-{n}",
        "payload_sha256": "0" * 64,
        "title": f"Finding number {n}",
        "metric": "cpu",
        "magnitude_pct": 1.0,
        "functions": [{"symbol": "pkg.mod.func", "file": "pkg/mod.py"}],
        "estimated_watts": 100.0,
    }
    values.update(fields)
    return Finding.objects.create(service=service, **values)


@pytest.fixture
def checkout(db) -> Service:
    return Service.objects.create(name="checkout")


@pytest.fixture
def search(db) -> Service:
    return Service.objects.create(name="search")


def titles(response) -> list[str]:
    return [f.title for f in response.context["page"].object_list]


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/?kind=regression")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/")


def test_outsider_gets_friendly_403(client_for, outsider, checkout):
    make_finding(checkout, title="Secret regression")
    response = client_for(outsider).get("/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "no Wattson role" in text
    assert "Secret regression" not in text


def test_manager_reads_the_queue_with_formatted_power(client_for, manager, checkout, reviewer):
    make_finding(
        checkout,
        title="tax_rate got slower",
        estimated_watts=1234.0,
        magnitude_pct=3.25,
        assignee=reviewer,
        status=Finding.Status.IN_REVIEW,
    )
    make_finding(checkout, title="Big one", estimated_watts=3_400_000.0)
    response = client_for(manager).get("/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "tax_rate got slower" in text
    assert "1.2 kW" in text
    assert "3.4 MW" in text
    assert "3.2%" in text or "3.3%" in text
    assert "In review" in text
    assert "rita" in text
    assert "2 findings" in text


def test_titles_are_escaped(client_for, reviewer, checkout):
    make_finding(checkout, title="<script>alert(1)</script>")
    text = client_for(reviewer).get("/").content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_filters_by_kind_status_service_source_and_assignee(
    client_for, reviewer, reviewer2, checkout, search
):
    make_finding(checkout, title="reg-mine", assignee=reviewer, status=Finding.Status.IN_REVIEW)
    make_finding(checkout, title="opp-other", kind=Finding.Kind.OPPORTUNITY, assignee=reviewer2)
    make_finding(search, title="search-closed", status=Finding.Status.CLOSED, source="survey")
    client = client_for(reviewer)

    assert titles(client.get("/?kind=opportunity")) == ["opp-other"]
    assert titles(client.get("/?status=in_review")) == ["reg-mine"]
    assert sorted(titles(client.get("/?status=open"))) == ["opp-other", "reg-mine"]
    assert titles(client.get(f"/?service={search.pk}")) == ["search-closed"]
    assert titles(client.get("/?source=survey")) == ["search-closed"]
    assert titles(client.get("/?mine=1")) == ["reg-mine"]
    assert titles(client.get(f"/?kind=regression&service={checkout.pk}&mine=1")) == ["reg-mine"]


@pytest.mark.parametrize(
    "query",
    [
        "kind=bogus",
        "status=%27%3B--",
        "service=abc",
        "service=-1",
        "service=99999999999999999999999",
        "sort=password",
        "sort=-id",
        "per_page=7",
        "per_page=1000000",
        "page=abc",
        "page=99999",
        "page=-3",
        "mine=maybe",
        "source=" + "x" * 500,
    ],
)
def test_bad_query_values_never_break_the_page(client_for, reviewer, checkout, query):
    make_finding(checkout, title="still here")
    response = client_for(reviewer).get(f"/?{query}")
    assert response.status_code == 200


def test_invalid_filter_is_ignored_and_said_so(client_for, reviewer, checkout):
    make_finding(checkout, title="still here")
    response = client_for(reviewer).get("/?kind=bogus&status=new")
    assert titles(response) == ["still here"]
    assert "Ignored an invalid value for: kind" in response.content.decode()


def test_sorting_by_watts_magnitude_age(client_for, reviewer, checkout):
    make_finding(checkout, title="small", estimated_watts=10, magnitude_pct=9)
    make_finding(checkout, title="large", estimated_watts=5000, magnitude_pct=1)
    make_finding(checkout, title="medium", estimated_watts=700, magnitude_pct=5)
    client = client_for(reviewer)
    assert titles(client.get("/?sort=watts")) == ["large", "medium", "small"]
    assert titles(client.get("/?sort=magnitude")) == ["small", "medium", "large"]
    assert titles(client.get("/")) == ["medium", "large", "small"]  # newest first
    assert titles(client.get("/?sort=oldest")) == ["small", "large", "medium"]


def test_status_sort_puts_what_needs_review_first(client_for, reviewer, checkout):
    make_finding(checkout, title="closed", status=Finding.Status.CLOSED)
    make_finding(checkout, title="review me", status=Finding.Status.IN_REVIEW)
    make_finding(checkout, title="new", status=Finding.Status.NEW)
    assert titles(client_for(reviewer).get("/?sort=status")) == ["review me", "new", "closed"]


def test_pagination_keeps_filters(client_for, reviewer, checkout):
    for i in range(30):
        make_finding(checkout, title=f"r{i}", kind=Finding.Kind.REGRESSION)
    make_finding(checkout, title="an opportunity", kind=Finding.Kind.OPPORTUNITY)
    client = client_for(reviewer)
    first = client.get("/?kind=regression")
    assert len(titles(first)) == 25
    text = first.content.decode()
    assert "1–25 of 30" in text
    assert "kind=regression&amp;page=2" in text
    second = client.get("/?kind=regression&page=2")
    assert len(titles(second)) == 5
    assert "an opportunity" not in titles(second)
    assert len(titles(client.get("/?kind=regression&per_page=50"))) == 30


def test_empty_queue_tells_a_new_user_how_to_start(client_for, reviewer):
    text = client_for(reviewer).get("/").content.decode()
    assert "No findings yet" in text
    assert "manage.py demo" in text
    assert "manage.py ingest finding.json" in text
    assert "/api/v1/findings/" in text


def test_no_matches_offers_to_clear_filters(client_for, reviewer, checkout):
    make_finding(checkout, kind=Finding.Kind.REGRESSION)
    text = client_for(reviewer).get("/?kind=opportunity").content.decode()
    assert "No findings match these filters" in text
    assert "clear all filters" in text
    assert "No findings yet" not in text


def test_post_is_not_allowed(client_for, reviewer):
    assert client_for(reviewer).post("/").status_code == 405


def test_query_count_does_not_grow_with_page_size(
    client_for, reviewer, reviewer2, checkout, search, django_assert_max_num_queries
):
    for i in range(120):
        make_finding(
            checkout if i % 2 else search,
            assignee=reviewer if i % 3 else reviewer2,
            kind=Finding.Kind.OPPORTUNITY if i % 4 else Finding.Kind.REGRESSION,
        )
    client = client_for(reviewer)
    counts = {}
    for size in (25, 100):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/?per_page={size}&sort=watts")
        assert len(titles(response)) == size
        counts[size] = len(queries)
    assert counts[25] == counts[100]
    with django_assert_max_num_queries(counts[25]):
        client.get("/?per_page=100&status=open&mine=1")
    with django_assert_max_num_queries(counts[25]):
        client.get("/?per_page=100&q=pkg.mod+checkout")
    # session, user, groups, count, page, services, sources: a handful, whatever the size.
    assert counts[100] <= 10


def test_count_is_capped_on_huge_queues(client_for, reviewer, checkout, monkeypatch):
    monkeypatch.setattr("reviews.selectors.findings.QUEUE_COUNT_CAP", 5)
    for _ in range(8):
        make_finding(checkout)
    first = make_finding(checkout, title="the oldest one")
    Finding.objects.filter(pk=first.pk).update(created_at=first.created_at.replace(year=2020))
    client = client_for(reviewer)
    assert "5+ findings" in client.get("/").content.decode()
    # Past the cap, sorting is how a reviewer reaches the rest.
    assert titles(client.get("/?sort=oldest"))[0] == "the oldest one"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0 W"), (850, "850 W"), (1234, "1.2 kW"), (3_400_000, "3.4 MW"), (2.5e9, "2.5 GW"),
     (None, "—"), ("junk", "—"), (float("nan"), "—")],
)  # fmt: skip
def test_power_reads_in_watts_kilowatts_megawatts(value, shown):
    from reviews.templatetags.wattson import watts

    assert watts(value) == shown


def test_age_is_compact():
    import datetime as dt

    from reviews.templatetags.wattson import age, utc_minute

    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    ages = [age(now - dt.timedelta(**delta), now) for delta in (
        {"seconds": 5}, {"minutes": 5}, {"hours": 3}, {"days": 2}, {"days": 30}, {"days": 400}
    )]  # fmt: skip
    assert ages == ["just now", "5 min", "3 h", "2 d", "4 w", "1 y"]
    assert age(None) == "—"
    assert utc_minute(now) == "2026-11-25 12:00 UTC"


def test_navigation_shows_admin_only_to_staff_skill_admins(client_for, reviewer, skill_admin):
    reviewer_page = client_for(reviewer).get("/").content.decode()
    assert ">Admin</a>" not in reviewer_page
    assert "API docs" in reviewer_page
    skill_admin.is_staff = True
    skill_admin.save()
    admin_page = client_for(skill_admin).get("/").content.decode()
    assert ">Admin</a>" in admin_page
    assert "skill-admin" in admin_page  # the roles are shown next to the name


def test_text_search_over_title_function_service_and_commit(client_for, reviewer, checkout, search):
    make_finding(checkout, title="Tax rate got slower", root_cause_commit="ab12cd34" + "0" * 32)
    make_finding(search, title="Ranker is hot", functions=[{"symbol": "reco.rank.Score_Items"}])
    make_finding(search, title="Index build", functions=[])
    client = client_for(reviewer)

    def found(query: str) -> list[str]:
        return sorted(titles(client.get("/", {"q": query})))

    assert found("TAX RATE") == ["Tax rate got slower"]  # title, any case, every word
    assert found("score_items") == ["Ranker is hot"]  # a function, in the JSON's text
    assert found("checkout") == ["Tax rate got slower"]  # the service's name
    assert found("ab12cd") == ["Tax rate got slower"]  # a prefix of the root-cause commit
    assert found("search index") == ["Index build"]  # words combine: service and title
    assert found("nothing-like-this") == []
    page = client.get("/", {"q": "ranker"}).content.decode()
    assert 'value="ranker"' in page and "1 finding match your filters" in page
