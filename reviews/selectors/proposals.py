"""Reads for the proposal page: the proposal itself (authorised), its revisions, its rendered diff.

Rendering reads old files from the registered repository at the proposal's base commit, once
per render, as bytes (skills.gitio.read_blobs) decoded the way diffs are; the rendered HTML is
cached, keyed by the diff's sha256, the base commit and the view options, so a second visit does
no git and no lexing.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from reviews import diffs
from reviews.models import Decision, Proposal, ProposalSkill, Repository
from reviews.roles import user_roles
from reviews.selectors.repositories import finding_repository, repository_read_path
from skills import gitio
from skills.hashing import diff_sha256, text_sha256

# An old file larger than this is not read at all: it would be shown without highlighting anyway.
READ_MAX_BYTES = 2 * 1024 * 1024
CACHE_SECONDS = 24 * 3600
# The shared cache (database or Redis, settings.CACHES) evicts by count, not size: a render
# bigger than this is not kept (it is rare, and 2,000 of them would hold gigabytes).
CACHE_MAX_CHARS = 4_000_000


def _require_reader(user) -> None:
    if not user_roles(user).can_read:
        raise PermissionDenied("Your account has no Wattson role that allows reading proposals.")


def proposal_get_for_user(*, user, proposal_id: int) -> Proposal:
    """One proposal with what its page shows; 403 for outsiders, 404 when it does not exist."""
    _require_reader(user)
    proposal = (
        Proposal.objects.select_related(
            "finding",
            "finding__service",
            "finding__service__repository",
            "finding__repository",
            "skill_version",
            "skill_version__skill",
            "solve_run",
            "requested_by",
            "edited_by",
        )
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise Http404("No such proposal.")
    return proposal


def proposal_get_for_page(*, user, proposal_id: int) -> Proposal:
    """proposal_get_for_user, with what its page lists row by row loaded in one query each:
    the composed skills with their versions and the decisions with their reviewers (the
    template would otherwise query once per skill and once per reviewer)."""
    proposal = proposal_get_for_user(user=user, proposal_id=proposal_id)
    prefetch_related_objects(
        [proposal],
        Prefetch("composed_skills", ProposalSkill.objects.select_related("skill_version")),
        Prefetch("decisions", Decision.objects.select_related("reviewer")),
    )
    return proposal


def proposal_get_with_decisions(*, user, proposal_id: int) -> Proposal:
    """proposal_get_for_user, with its decisions and their reviewers loaded (for the API)."""
    proposal = proposal_get_for_user(user=user, proposal_id=proposal_id)
    prefetch_related_objects([proposal], "decisions__reviewer")
    return proposal


def proposal_revisions(*, proposal: Proposal) -> list[Proposal]:
    """Every revision of the same finding, oldest first (without the heavy text columns)."""
    return list(
        Proposal.objects.filter(finding_id=proposal.finding_id)
        .defer("diff", "apply_log", "test_log", "bench_log", "rationale", "risks")
        .order_by("revision", "id")
    )


def proposal_other_revision(*, proposal: Proposal, other_id: int) -> Proposal:
    """Another revision of the same finding, for an interdiff; 404 for anything else."""
    other = (
        Proposal.objects.select_related("finding", "finding__repository", "finding__service")
        .filter(pk=other_id, finding_id=proposal.finding_id)
        .exclude(pk=proposal.pk)
        .first()
    )
    if other is None:
        raise Http404("No such revision of this finding.")
    return other


def proposal_repository(proposal: Proposal) -> Repository | None:
    return finding_repository(proposal.finding)


# --- reading the base files -------------------------------------------------------------------


def _blob_text(data: bytes | None) -> str | None:
    """A blob as the viewer's text (gitio.decode_text: the diff's own decoding), or None for
    one that is missing, too large or binary."""
    if data is None or b"\x00" in data:
        return None
    return gitio.decode_text(data)


def read_files_at(repo_path: str, commit: str, paths: list[str]) -> dict[str, str | None]:
    """Files' text at one commit, read as bytes in one batch: CRLF, a "\r" inside a line and
    bytes that are not UTF-8 all keep the file's line numbering (lines split on "\n" only)."""
    wanted = [p for p in dict.fromkeys(paths) if p and "\n" not in p]
    if not wanted or not diffs.hex_commit(commit):
        return {}
    blobs = gitio.read_blobs(repo_path, commit, wanted, max_bytes=READ_MAX_BYTES)
    return {path: _blob_text(blobs.get(path)) for path in wanted}


def read_file_at(repo_path: str, commit: str, path: str) -> str | None:
    """One file's text at a commit, or None (missing, binary, too large)."""
    if not path or path.startswith("-"):
        return None
    return read_files_at(repo_path, commit, [path]).get(path)


def _diff_paths(diff_text: str) -> list[str]:
    try:
        patch = diffs.parse(diff_text)
    except Exception:
        return []
    paths = []
    for pfile in patch:
        if pfile.is_binary_file or pfile.source_file == "/dev/null":
            continue
        paths.append(diffs.unquote_git_path(pfile.source_file))
    return paths


def _base_reader(proposal: Proposal) -> tuple[Callable[[str], str | None] | None, str]:
    """A reader of old files at the proposal's base commit, and why there is none."""
    repository = proposal_repository(proposal)
    if repository is None:
        return None, "No repository is registered for this finding's service."
    if not diffs.hex_commit(proposal.base_commit):
        return None, "The proposal records no base commit."
    path, problem = repository_read_path(repository, commits=(proposal.base_commit,))
    if problem:
        return None, problem
    if not Path(path).is_dir() or not gitio.is_work_tree(path):
        return None, f"The repository {repository.name} is not available on this server."
    try:
        files = read_files_at(path, proposal.base_commit, _diff_paths(proposal.diff))
    except gitio.GitError as exc:
        return None, f"Could not read the base commit: {exc}."
    return files.get, ""


# --- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedDiff:
    html: SafeString
    files: int
    added: int
    removed: int
    warnings: int
    cached: bool = False


def _cache_key(kind: str, *parts: object) -> str:
    digest = text_sha256("\x1f".join(str(p) for p in parts))
    return f"wattson:diff:{diffs.RENDER_VERSION}:{kind}:{digest}"


# Each web process also keeps its last few renders: a 2,000-line diff renders to ~0.5 MB, and
# reading that back from the shared cache and unpickling it on every view cost more than the
# page's other reads. A local copy is served only while the shared cache still holds the small
# token stored with that render, so an entry that was cleared, evicted or replaced is never
# served from here. The render itself is stored as before (a process of the previous release
# reads it unchanged); its token is a key of its own, written after it.
LOCAL_RENDERS = 8
_local_renders: OrderedDict[str, tuple[str, dict]] = OrderedDict()
_local_lock = threading.Lock()


def _remember(key: str, token: str, payload: dict) -> None:
    with _local_lock:
        _local_renders[key] = (token, payload)
        _local_renders.move_to_end(key)
        while len(_local_renders) > LOCAL_RENDERS:
            _local_renders.popitem(last=False)


def _cached_render(key: str) -> dict | None:
    """The render stored under `key`, from this process while its token still matches."""
    token = cache.get(f"{key}:token")
    if token is not None:
        with _local_lock:
            local = _local_renders.get(key)
            if local is not None and local[0] == token:
                _local_renders.move_to_end(key)
                return local[1]
    # Read after the token: a render replaced since then is newer than the token, never older.
    payload = cache.get(key)
    if payload is None:
        return None
    if token is not None:
        _remember(key, token, payload)
    else:  # stored before tokens, or its token was evicted: tokened now, once
        _store_render(key, payload)
    return payload


def _store_render(key: str, payload: dict) -> None:
    token = secrets.token_hex(8)
    cache.set(key, payload, CACHE_SECONDS)
    cache.set(f"{key}:token", token, CACHE_SECONDS)
    _remember(key, token, payload)


def _render(view: diffs.DiffView, *, context_url: str, note: str) -> RenderedDiff:
    html = render_to_string(
        "reviews/_diff.html", {"diff": view, "context_url": context_url, "diff_note": note}
    )
    return RenderedDiff(
        html=SafeString(html),
        files=len(view.files),
        added=view.added,
        removed=view.removed,
        warnings=len(view.warnings),
    )


def proposal_diff(
    *, proposal: Proposal, context_url: str, highlight: bool = True
) -> RenderedDiff | None:
    """The proposal's diff rendered for the viewer (cached); None for an analysis."""
    if not proposal.diff.strip():
        return None
    key = _cache_key(
        "proposal",
        proposal.pk,
        diff_sha256(proposal.diff),
        proposal.base_commit,
        f"highlight={int(highlight)}",
        context_url,
    )
    hit = _cached_render(key)
    if hit is not None:
        return RenderedDiff(**{**hit, "html": SafeString(hit["html"]), "cached": True})
    reader, note = _base_reader(proposal)
    view = diffs.render_diff(proposal.diff, read_old=reader, highlight=highlight)
    if reader is None and note:
        note += " Lines are highlighted hunk by hunk; unchanged context cannot be expanded."
    rendered = _render(view, context_url=context_url, note=note)
    if len(rendered.html) <= CACHE_MAX_CHARS:
        _store_render(key, {**rendered.__dict__, "html": str(rendered.html)})
    return rendered


def proposal_context_rows(
    *, proposal: Proposal, file_index: int, old_start: int, old_end: int
) -> list[diffs.Row]:
    """Unchanged lines of one file at the base commit, for "expand"; 404 for a bad request."""
    if not proposal.diff.strip():
        raise Http404("This proposal has no diff.")
    try:
        patch = diffs.parse(proposal.diff)
    except Exception:
        raise Http404("This diff cannot be parsed.") from None
    if not 0 <= file_index < len(patch):
        raise Http404("No such file in this diff.")
    pfile = patch[file_index]
    if pfile.is_binary_file or pfile.source_file == "/dev/null":
        raise Http404("This file has no earlier version.")
    repository = proposal_repository(proposal)
    if repository is None or not diffs.hex_commit(proposal.base_commit):
        raise Http404("The base of this proposal is not available.")
    old_path = diffs.unquote_git_path(pfile.source_file)
    path, _problem = repository_read_path(repository, commits=(proposal.base_commit,))
    try:
        old_text = read_file_at(path, proposal.base_commit, old_path) if path else None
    except gitio.GitError:
        old_text = None
    if old_text is None:
        raise Http404("The file is not available at the base commit.")
    return _gap_rows(pfile, old_text, old_path, old_start, old_end)


def _gap_rows(pfile, old_text: str, path: str, old_start: int, old_end: int) -> list[diffs.Row]:
    length = diffs.line_count(old_text)
    old_end = min(old_end, length, old_start + diffs.EXPAND_MAX_LINES - 1)
    gap = diffs.find_gap(pfile, old_length=length, old_start=old_start, old_end=old_end)
    if gap is None:
        raise Http404("Those lines are not unchanged context of this file.")
    return diffs.context_rows(
        old_text, path, old_start=gap.old_start, old_end=gap.old_end, new_start=gap.new_start
    )


# --- interdiff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interdiff:
    older: Proposal
    newer: Proposal
    diff_text: str
    rendered: RenderedDiff | None
    error: str = ""


def _results(proposal: Proposal) -> tuple[dict[str, str | None], Callable[[str], str | None]]:
    """The files a proposal's diff produces, and a reader of its base."""
    repository = proposal_repository(proposal)
    if repository is None or not diffs.hex_commit(proposal.base_commit):
        raise ValueError(f"revision {proposal.revision} has no readable base commit")
    repo_path, problem = repository_read_path(repository, commits=(proposal.base_commit,))
    if problem:
        raise ValueError(problem)
    paths = _diff_paths(proposal.diff)
    base = read_files_at(repo_path, proposal.base_commit, paths)

    def read_base(path: str) -> str | None:
        if path not in base:
            base[path] = read_file_at(repo_path, proposal.base_commit, path)
        return base[path]

    return diffs.patched_files(proposal.diff, read_base), read_base


def _interdiff_inputs(older: Proposal, newer: Proposal) -> tuple[str, Callable, Callable]:
    older_files, older_base = _results(older)
    newer_files, newer_base = _results(newer)

    def read_before(path: str) -> str | None:
        return older_files[path] if path in older_files else older_base(path)

    def read_after(path: str) -> str | None:
        return newer_files[path] if path in newer_files else newer_base(path)

    # Files only one side touches compare against the base the other side was made on.
    paths = set(older_files) | set(newer_files)
    before = {p: read_before(p) for p in paths}
    after = {p: read_after(p) for p in paths}
    text = diffs.interdiff(before, after, lambda _p: None)
    return text, read_before, read_after


def proposal_interdiff(*, proposal: Proposal, other: Proposal, context_url: str) -> Interdiff:
    """What changed between two revisions' resulting files, rendered like a diff."""
    older, newer = sorted((proposal, other), key=lambda p: (p.revision, p.pk))
    key = _cache_key(
        "interdiff",
        older.pk,
        newer.pk,
        diff_sha256(older.diff),
        diff_sha256(newer.diff),
        older.base_commit,
        newer.base_commit,
        context_url,
    )
    hit = cache.get(key)
    if hit is not None:
        rendered = RenderedDiff(**{**hit["rendered"], "html": SafeString(hit["rendered"]["html"])})
        return Interdiff(older, newer, hit["text"], rendered)
    try:
        text, read_before, read_after = _interdiff_inputs(older, newer)
    except (ValueError, gitio.GitError, diffs.DiffTooLarge) as exc:
        return Interdiff(older, newer, "", None, error=f"No interdiff: {exc}.")
    except Exception as exc:  # unparseable diffs: say so rather than a 500
        return Interdiff(older, newer, "", None, error=f"No interdiff: {type(exc).__name__}.")
    view = diffs.render_diff(text, read_old=read_before, read_new=read_after)
    rendered = _render(view, context_url=context_url, note="")
    if len(rendered.html) + len(text) <= CACHE_MAX_CHARS:
        cache.set(
            key,
            {"text": text, "rendered": {**rendered.__dict__, "html": str(rendered.html)}},
            CACHE_SECONDS,
        )
    return Interdiff(older, newer, text, rendered)


def proposal_interdiff_context_rows(
    *, proposal: Proposal, other: Proposal, file_index: int, old_start: int, old_end: int
) -> list[diffs.Row]:
    """ "Expand" inside an interdiff: unchanged lines of the older revision's resulting file."""
    older, newer = sorted((proposal, other), key=lambda p: (p.revision, p.pk))
    try:
        text, read_before, _ = _interdiff_inputs(older, newer)
        patch = diffs.parse(text)
    except Exception:
        raise Http404("No interdiff between these revisions.") from None
    if not 0 <= file_index < len(patch):
        raise Http404("No such file in this interdiff.")
    pfile = patch[file_index]
    path = diffs.unquote_git_path(pfile.source_file)
    old_text = read_before(path) if path else None
    if old_text is None:
        raise Http404("This file has no earlier version.")
    return _gap_rows(pfile, old_text, path, old_start, old_end)
