"""manage.py mcp_serve, driven as an MCP client would: a subprocess over stdio."""

from __future__ import annotations

import os
import subprocess
import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from skills.tools import REGISTRY
from tests.conftest import PROJECT_DIR
from tests.scenarios import build_scenario

# The whole module runs in a few seconds; this bounds a hung server instead of the suite. It is
# generous on purpose: on a busy 2-core host starting Python, Django and mcp alone takes seconds,
# and a bound that only a hang can reach never fails a healthy run.
SESSION_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A scratch database (its own WATTSON_VAR_DIR) with one registered scenario repository."""
    base = tmp_path_factory.mktemp("mcp")
    repo = build_scenario("label_regex", base / "labels")["path"]
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["WATTSON_VAR_DIR"] = str(base / "var")
    setup = (
        "from django.core.management import call_command\n"
        "from django.apps import apps\n"
        "call_command('migrate', verbosity=0)\n"
        "Repository = apps.get_model('reviews', 'Repository')\n"
        f"Repository.objects.create(name='labels', path={str(repo)!r})\n"
        # Migrations may seed the catalogue: update rather than create.
        "Skill = apps.get_model('skills', 'Skill')\n"
        "Skill.objects.update_or_create(slug='precompile-regex', defaults=dict(\n"
        "    name='Precompile regex', enabled=True,\n"
        "    instructions='Look for re.match with a constant pattern.',\n"
        "    mitigation='Compile it once at module level.'))\n"
        "Skill.objects.update_or_create(slug='retired', defaults=dict(name='Retired',\n"
        "    enabled=False))\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", setup],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {"env": env, "repo": repo}


def _session(served, script):
    params = StdioServerParameters(
        command=sys.executable,
        args=["manage.py", "mcp_serve", "labels"],
        cwd=PROJECT_DIR,
        env={"WATTSON_VAR_DIR": served["env"]["WATTSON_VAR_DIR"], "WATTSON_LOG_LEVEL": "WARNING"},
    )

    async def main():
        with anyio.fail_after(SESSION_TIMEOUT_S):
            async with Client(params) as client:
                return await script(client)

    return anyio.run(main)


def _text(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def test_mcp_serves_the_registry_read_only_and_confined(served):
    async def script(client):
        listed = await client.list_tools()
        labels = "shipping/labels.py"
        read = await client.call_tool("read_file", {"path": labels, "end_line": 6})
        search = {"pattern": r"re\.fullmatch", "path": "shipping"}
        found = await client.call_tool("search_code", search)
        escape = await client.call_tool("read_file", {"path": "../../etc/passwd"})
        absolute = await client.call_tool("read_file", {"path": "/etc/passwd"})
        bad_type = await client.call_tool("read_file", {"path": labels, "start_line": 0})
        extra = await client.call_tool("read_file", {"path": labels, "mode": "w"})
        after = await client.call_tool("get_function", {"symbol": "shipping.labels.parse_tracking"})
        docs = await client.call_tool("skill_docs", {})
        return listed, read, found, escape, absolute, bad_type, extra, after, docs

    listed, read, found, escape, absolute, bad_type, extra, after, docs = _session(served, script)

    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == set(REGISTRY)
    assert tools["read_file"].input_schema == REGISTRY["read_file"].input_schema
    assert tools["search_code"].description == REGISTRY["search_code"].description
    assert all(tool.annotations.read_only_hint for tool in tools.values())

    assert not read.is_error
    assert _text(read).splitlines()[-1] == "6  def parse_tracking(raw):"
    assert not found.is_error
    assert "shipping/labels.py:11:    match = re.fullmatch(" in _text(found)

    assert escape.is_error
    assert "contains '..' and is refused" in _text(escape)
    assert "root:" not in _text(escape)
    assert absolute.is_error and "absolute path" in _text(absolute)
    assert bad_type.is_error and "start_line" in _text(bad_type)
    assert extra.is_error and "mode" in _text(extra)
    # A refused call does not take the server down.
    assert not after.is_error and "def parse_tracking(raw):" in _text(after)
    # skill_docs is fed from the enabled skills of the database.
    assert "precompile-regex: Precompile regex" in _text(docs)
    assert "retired:" not in _text(docs)


def test_mcp_serve_an_unknown_repository_exits_1(served):
    result = subprocess.run(
        [sys.executable, "manage.py", "mcp_serve", "no-such-repo"],
        cwd=PROJECT_DIR,
        env=served["env"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "unknown repository 'no-such-repo' (registered: labels)" in result.stderr
    assert "manage.py add_repo" in result.stderr
    assert result.stdout == ""
