"""Page URLs: each views module owns its own list."""

from reviews.views import (
    comments,
    decisions,
    findings,
    proposals,
    pull_requests,
    reports,
    solving,
    webhooks,
)

app_name = "reviews"

urlpatterns = (
    findings.urlpatterns
    + proposals.urlpatterns
    + reports.urlpatterns
    + decisions.urlpatterns
    + solving.urlpatterns
    + comments.urlpatterns
    + webhooks.urlpatterns
    + pull_requests.urlpatterns
)
