"""Report rollups kept exact by database triggers, for PostgreSQL and SQLite alike.

Every insert, update and delete of a proposal, decision or finding adjusts the weekly rollup
rows in the same transaction, whatever code path wrote it (services, admin, bulk updates), so
the savings report reads thousands of rows instead of scanning millions. `rebuild()` recomputes
them from the base tables; a test checks that both agree after a mix of writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection as default_connection


def week_sql(vendor: str, column: str) -> str:
    """The Monday (UTC) of the week holding a timestamp column, as a date."""
    if vendor == "postgresql":
        return f"(date_trunc('week', {column} AT TIME ZONE 'UTC'))::date"
    # SQLite stores UTC timestamps as text: 'weekday 0' goes to the Sunday ending the week.
    return f"date({column}, 'weekday 0', '-6 days')"


def _flag(condition: str, sign: str) -> str:
    return f"CASE WHEN {condition} THEN {sign} ELSE 0 END"


@dataclass(frozen=True)
class Rollup:
    table: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]

    def adjust(self, sign: str, key_exprs: list[str], sum_exprs: list[str], where: str) -> str:
        """Add a row's counts (sign "1") to its rollup row, or take them away (sign "-1").

        Taking away only updates a rollup row that exists: it never creates one. A rollup
        table emptied before the rows it counts (a test database's flush on SQLite deletes
        table after table; a TRUNCATE or a careless delete order in production) then stays
        empty instead of filling with negative rows that every later report would add in.
        """
        if sign == "-1":
            sums = zip(self.sums, sum_exprs, strict=True)
            keys = zip(self.keys, key_exprs, strict=True)
            updates = ", ".join(f"{c} = {c} + {e}" for c, e in sums)
            match = " AND ".join(f"{k} = {e}" for k, e in keys)
            return f"UPDATE {self.table} SET {updates} WHERE {match} AND ({where})"
        columns = ", ".join((*self.keys, *self.sums))
        values = ", ".join((*key_exprs, *sum_exprs))
        updates = ", ".join(f"{c} = {self.table}.{c} + excluded.{c}" for c in self.sums)
        # "WHERE" keeps SQLite from reading ON CONFLICT as a join constraint.
        return (
            f"INSERT INTO {self.table} ({columns}) SELECT {values} WHERE {where} "
            f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {updates}"
        )


SAVINGS = Rollup(
    "reviews_savingsweek",
    ("week", "service_id", "skill_slug", "source", "kind", "status"),
    ("proposals", "watts", "measured_watts", "measured_count"),
)
DECISIONS = Rollup(
    "reviews_decisionweek",
    (
        "week",
        "service_id",
        "skill_slug",
        "skill_version_number",
        "source",
        "kind",
        "verdict",
        "reason",
    ),
    ("decisions",),
)
FUNNEL = Rollup(
    "reviews_funnelweek",
    ("week", "service_id", "source", "kind", "skill_slug"),
    ("ingested", "no_fix", "failed", "proposed", "approved", "applied"),
)


# The funnel's "approved": a person approved the fix, whatever its pull request became since
# (reviews.reports.funnel.APPROVED_STATUSES).
APPROVED_SQL = "('approved', 'shipped', 'abandoned')"


def counted_sql(row: str) -> str:
    """The revision the reports count for its finding: reviews.reports.scope.COUNTED in SQL."""
    return f"COALESCE({row}.in_reports, {row}.is_current)"


def savings_counted_sql(row: str) -> str:
    """Counted, and a fix: an analysis is never banked, at stake or lost."""
    return f"{counted_sql(row)} AND NOT {row}.is_analysis"


def proposal_statements(vendor: str, row: str, sign: str) -> list[str]:
    savings = SAVINGS.adjust(
        sign,
        [
            week_sql(vendor, f"{row}.activity_at"),
            f"COALESCE({row}.service_id, 0)",
            f"{row}.skill_slug",
            f"{row}.source",
            f"{row}.kind",
            f"{row}.status",
        ],
        [
            sign,
            f"{sign} * {row}.estimated_watts",
            f"{sign} * COALESCE({row}.measured_watts, 0)",
            _flag(f"{row}.measured_watts IS NOT NULL", sign),
        ],
        where=savings_counted_sql(row),
    )
    funnel = FUNNEL.adjust(
        sign,
        [
            week_sql(vendor, f"{row}.finding_created_at"),
            f"COALESCE({row}.service_id, 0)",
            f"{row}.source",
            f"{row}.kind",
            f"{row}.skill_slug",
        ],
        [
            "0",
            "0",
            "0",
            _flag(f"{row}.revision = 1 AND NOT {row}.is_analysis", sign),
            _flag(f"{savings_counted_sql(row)} AND {row}.status IN {APPROVED_SQL}", sign),
            _flag(f"{counted_sql(row)} AND {row}.branch_commit <> ''", sign),
        ],
        where=f"{row}.finding_created_at IS NOT NULL",
    )
    return [savings, funnel]


def decision_statements(vendor: str, row: str, sign: str) -> list[str]:
    return [
        DECISIONS.adjust(
            sign,
            [
                week_sql(vendor, f"{row}.created_at"),
                f"COALESCE({row}.service_id, 0)",
                f"{row}.skill_slug",
                f"COALESCE({row}.skill_version_number, 0)",
                f"{row}.source",
                f"{row}.kind",
                f"{row}.verdict",
                f"{row}.reason",
            ],
            [sign],
            where=f"NOT {row}.dismissed",
        )
    ]


def finding_statements(vendor: str, row: str, sign: str) -> list[str]:
    return [
        FUNNEL.adjust(
            sign,
            [
                week_sql(vendor, f"{row}.created_at"),
                f"{row}.service_id",
                f"{row}.source",
                f"{row}.kind",
                "''",
            ],
            [
                sign,
                _flag(f"{row}.status = 'no_fix'", sign),
                _flag(f"{row}.status = 'failed'", sign),
                "0",
                "0",
                "0",
            ],
            where="1 = 1",
        )
    ]


TRIGGERS = {
    "reviews_proposal": proposal_statements,
    "reviews_decision": decision_statements,
    "reviews_finding": finding_statements,
}


def install_sql(vendor: str) -> list[str]:
    statements: list[str] = []
    for table, build in TRIGGERS.items():
        name = f"wattson_rollup_{table.removeprefix('reviews_')}"
        if vendor == "postgresql":
            old = ";\n    ".join(build(vendor, "OLD", "-1"))
            new = ";\n    ".join(build(vendor, "NEW", "1"))
            statements.append(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n  IF TG_OP <> 'INSERT' THEN\n    {old};\n  END IF;\n"
                f"  IF TG_OP <> 'DELETE' THEN\n    {new};\n  END IF;\n  RETURN NULL;\nEND $$"
            )
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            statements.append(
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        elif vendor == "sqlite":
            for event, parts in (
                ("INSERT", [("NEW", "1")]),
                ("UPDATE", [("OLD", "-1"), ("NEW", "1")]),
                ("DELETE", [("OLD", "-1")]),
            ):
                body = ";\n  ".join(s for row, sign in parts for s in build(vendor, row, sign))
                trigger = f"{name}_{event.lower()}"
                statements.append(f"DROP TRIGGER IF EXISTS {trigger}")
                statements.append(
                    f"CREATE TRIGGER {trigger} AFTER {event} ON {table} FOR EACH ROW\n"
                    f"BEGIN\n  {body};\nEND"
                )
        else:  # pragma: no cover - settings allow only these two
            raise NotImplementedError(f"report rollups need PostgreSQL or SQLite, not {vendor}")
    return statements


def uninstall_sql(vendor: str) -> list[str]:
    statements = []
    for table in TRIGGERS:
        name = f"wattson_rollup_{table.removeprefix('reviews_')}"
        if vendor == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            statements.append(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            statements += [
                f"DROP TRIGGER IF EXISTS {name}_{e}" for e in ("insert", "update", "delete")
            ]
    return statements


def rebuild_sql(vendor: str) -> list[str]:
    """Recompute every rollup row from the base tables."""
    wk = lambda column: week_sql(vendor, column)  # noqa: E731
    return [
        "DELETE FROM reviews_savingsweek",
        "DELETE FROM reviews_decisionweek",
        "DELETE FROM reviews_funnelweek",
        f"""INSERT INTO reviews_savingsweek ({", ".join((*SAVINGS.keys, *SAVINGS.sums))})
        SELECT {wk("activity_at")}, COALESCE(service_id, 0), skill_slug, source, kind, status,
               COUNT(*), SUM(estimated_watts), SUM(COALESCE(measured_watts, 0)),
               SUM(CASE WHEN measured_watts IS NULL THEN 0 ELSE 1 END)
        FROM reviews_proposal AS p WHERE {savings_counted_sql("p")}
        GROUP BY 1, 2, 3, 4, 5, 6""",
        f"""INSERT INTO reviews_decisionweek ({", ".join((*DECISIONS.keys, *DECISIONS.sums))})
        SELECT {wk("created_at")}, COALESCE(service_id, 0), skill_slug,
               COALESCE(skill_version_number, 0), source, kind, verdict, reason, COUNT(*)
        FROM reviews_decision WHERE NOT dismissed
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8""",
        f"""INSERT INTO reviews_funnelweek ({", ".join((*FUNNEL.keys, *FUNNEL.sums))})
        SELECT week, service_id, source, kind, skill_slug, SUM(ingested), SUM(no_fix),
               SUM(failed), SUM(proposed), SUM(approved), SUM(applied)
        FROM (
            SELECT {wk("created_at")} AS week, service_id, source, kind, '' AS skill_slug,
                   1 AS ingested,
                   CASE WHEN status = 'no_fix' THEN 1 ELSE 0 END AS no_fix,
                   CASE WHEN status = 'failed' THEN 1 ELSE 0 END AS failed,
                   0 AS proposed, 0 AS approved, 0 AS applied
            FROM reviews_finding
            UNION ALL
            SELECT {wk("finding_created_at")}, COALESCE(service_id, 0), source, kind, skill_slug,
                   0, 0, 0,
                   CASE WHEN revision = 1 AND NOT is_analysis THEN 1 ELSE 0 END,
                   CASE WHEN {savings_counted_sql("p")} AND status IN {APPROVED_SQL}
                        THEN 1 ELSE 0 END,
                   CASE WHEN {counted_sql("p")} AND branch_commit <> '' THEN 1 ELSE 0 END
            FROM reviews_proposal AS p WHERE finding_created_at IS NOT NULL
        ) parts
        GROUP BY week, service_id, source, kind, skill_slug""",
    ]


def schema_ready(connection) -> bool:
    """Whether the columns this module's SQL reads exist yet.

    Migrations before the latest one that changes the triggers (0016) skip installing them
    (this SQL reads columns they have not made yet); that latest one installs and recounts.
    """
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "reviews_proposal")
    return any(column.name == "in_reports" for column in columns)


def rebuild(connection=default_connection) -> None:
    with connection.cursor() as cursor:
        for statement in rebuild_sql(connection.vendor):
            cursor.execute(statement)
