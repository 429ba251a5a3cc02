"""The rollup triggers on PostgreSQL: the same checks as on SQLite (tests/reviews)."""

from tests.reviews.test_report_rollups import (  # noqa: F401
    test_a_flush_leaves_no_rollups_behind,
    test_funnel_and_skill_counts_match_the_base_tables,
    test_report_from_rollups_equals_the_base_tables,
    test_rollups_emptied_before_their_rows_stay_empty,
    test_trigger_rollups_equal_a_rebuild,
)
from tests.reviews.test_reports import (  # noqa: F401
    data,
    test_funnel_times_and_skill_quality,
    test_page_csv_and_api_agree,
    test_totals_banked_at_stake_lost,
)
