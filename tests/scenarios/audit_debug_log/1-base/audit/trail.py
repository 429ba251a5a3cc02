"""Audit trail: who did what, counted for the weekly access review."""

import logging

log = logging.getLogger(__name__)


def actions_per_actor(events):
    """{actor: {action: count}} over the events; system events (no actor) are skipped."""
    counts = {}
    for event in events:
        actor = event.get("actor")
        if not actor:
            continue
        per_action = counts.setdefault(actor, {})
        per_action[event["action"]] = per_action.get(event["action"], 0) + 1
    return counts
