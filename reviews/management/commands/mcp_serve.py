"""manage.py mcp_serve REPOSITORY: the read-only tool registry over MCP stdio.

It lives in `reviews` because it looks up a registered repository; the tools are skills'.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reviews.models import Repository
from skills.gitio import is_work_tree
from skills.models import Skill
from skills.tools import RepoSandbox, ToolError


def _skill_docs() -> dict[str, str]:
    """Each active skill's instructions and mitigation, for the skill_docs tool."""
    docs: dict[str, str] = {}
    for skill in Skill.objects.filter(enabled=True):
        parts = [skill.name, skill.description]
        if skill.instructions:
            parts.append(f"Instructions:\n{skill.instructions}")
        if skill.mitigation:
            parts.append(f"Mitigation:\n{skill.mitigation}")
        docs[skill.slug] = "\n\n".join(part for part in parts if part)
    return docs


class Command(BaseCommand):
    help = (
        "Serve Wattson's read-only code tools over MCP (stdio) for one registered repository. "
        "Point an MCP client at: manage.py mcp_serve <repository name>."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("repository", help="name of a registered repository")

    def handle(self, *args, repository: str, **options) -> None:
        repo = Repository.objects.filter(name=repository).first()
        if repo is None:
            known = ", ".join(Repository.objects.values_list("name", flat=True)[:20]) or "none"
            raise CommandError(
                f"unknown repository {repository!r} (registered: {known}); "
                "register it first with: manage.py add_repo NAME PATH"
            )
        if not is_work_tree(repo.path):
            raise CommandError(f"repository {repo.name!r}: {repo.path} is not a git work tree")
        try:
            sandbox = RepoSandbox(repo.path, skill_docs=_skill_docs())
        except ToolError as exc:
            raise CommandError(str(exc)) from None

        # Imported only when serving: the mcp SDK is heavy and nothing else here needs it.
        from skills.mcp_server import build_server

        # stdout carries the protocol from here on; everything else goes to stderr.
        self.stderr.write(f"mcp_serve: serving {repo.name} ({repo.path}) over stdio")
        build_server(sandbox, name=f"wattson-{repo.name}").run("stdio")
