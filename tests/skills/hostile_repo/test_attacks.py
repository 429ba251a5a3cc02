"""A hostile repository's tests: each tries one attack and passes only when it was blocked.

Run by Wattson's validation inside the sandbox; every attempt prints what happened, so the test
log shows what was blocked. The targets (paths, a port, a marker) come from targets.json.
"""

import json
import os
import socket
import subprocess
import time
import unittest
from pathlib import Path

TARGETS = json.loads(Path(__file__).with_name("targets.json").read_text())


def report(attack, outcome):
    print(f"ATTACK {attack}: {outcome}", flush=True)


class Attacks(unittest.TestCase):
    def test_read_other_processes_environment(self):
        leaked = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                text = environ.read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "CANARY" in text:
                leaked.append(text)
        print("own environment:", " ".join(sorted(os.environ)), flush=True)
        report("proc-environ", "LEAKED " + " ".join(leaked) if leaked else "blocked")
        self.assertEqual(leaked, [])
        self.assertFalse([name for name in os.environ if "CANARY" in name])

    def test_read_database_and_source(self):
        for name in ("database", "source_settings", "var_dir_file"):
            try:
                data = Path(TARGETS[name]).read_bytes()
            except OSError as exc:
                report(f"read-{name}", f"blocked ({exc.__class__.__name__})")
                continue
            report(f"read-{name}", "READ " + data.decode(errors="replace"))
            self.fail(f"read {name}")

    def test_network(self):
        for port in (TARGETS["port"], 5432):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=3).close()
            except OSError as exc:
                report(f"connect-{port}", f"blocked ({exc.__class__.__name__})")
                continue
            report(f"connect-{port}", "CONNECTED")
            self.fail(f"connected to {port}")

    def test_write_outside_worktree(self):
        try:
            Path("/usr/lib/wattson-pwned").write_text("pwned")
        except OSError as exc:
            report("write-system", f"blocked ({exc.__class__.__name__})")
        else:
            self.fail("wrote into /usr/lib")
        # Wattson's side checks that this one never reaches the real file.
        try:
            Path(TARGETS["outside_file"]).write_text("pwned")
            report("write-outside", "written somewhere (must not be the real path)")
        except OSError as exc:
            report("write-outside", f"blocked ({exc.__class__.__name__})")

    def test_move_the_real_repository(self):
        repo, sha = TARGETS["repo"], TARGETS["other_commit"]
        moved = subprocess.run(
            ["git", "-C", repo, "update-ref", "refs/heads/main", sha],
            capture_output=True,
            text=True,
        )
        ref_file = Path(repo, ".git", "refs", "heads", "evil")
        try:
            ref_file.write_text(sha + "\n")
            wrote = True
        except OSError:
            wrote = False
        report("update-ref", f"exit {moved.returncode}, ref file written: {wrote}")
        self.assertNotEqual(moved.returncode, 0)
        self.assertFalse(wrote)

    def test_fork_bomb(self):
        children = []
        error = ""
        for _ in range(TARGETS["fork_attempts"]):
            try:
                pid = os.fork()
            except OSError as exc:
                error = exc.__class__.__name__
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
        report("fork-bomb", f"stopped after {len(children)} processes ({error or 'no error'})")
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        self.assertTrue(error)

    def test_leave_a_daemon(self):
        subprocess.Popen(
            ["sleep", TARGETS["daemon_seconds"]],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        report("daemon", "started (must not survive the step)")
