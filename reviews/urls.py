"""Page URLs: each views module owns its own list."""

from reviews.views import decisions, findings, proposals, reports

app_name = "reviews"

urlpatterns = (
    findings.urlpatterns + proposals.urlpatterns + reports.urlpatterns + decisions.urlpatterns
)
