"""Run one command a repository brings (its tests, its benchmark) under bubblewrap.

That code is written by others, and under the Anthropic backend by a model that has read
untrusted code, so it must not see the worker's secrets, the database, Wattson's source or var
dir, other worktrees or the real repository, reach the network, or outlive its step. bubblewrap
(`bwrap`) gives it:

- an empty root with only the system directories (/usr, /etc, /opt and the /bin, /lib links)
  mounted read-only, so nothing else on the machine is in view; a fresh /dev, a fresh /proc in a
  new pid namespace (no other process is visible), a private size-capped /tmp, and every other
  namespace unshared (no network at all; 127.0.0.1 is an empty loopback);
- a disposable copy of the worktree, mounted read-write at the worktree's own path (so logs name
  the paths a reviewer knows): the command can write there and nowhere else, and what it writes
  cannot reach the next run or the real worktree;
- uid/gid 65534 inside. When the worker is root it drops to 65534 before starting bwrap: the
  kernel never applies RLIMIT_NPROC to root's processes, so a fork bomb mapped to root would be
  unbounded;
- resource limits (prlimit, inherited by everything inside): CPU time, memory, processes, open
  files, file size; the output is read up to a cap;
- one end for everything: when the command exits, the namespace's init exits and the kernel
  kills every process left in it (a daemon in its own session included); on a timeout or an
  overflowing output the whole process group is killed first.

WATTSON_SANDBOX (read at call time) chooses: `required` refuses to run without bubblewrap,
`auto` runs unsandboxed with a warning when it is missing, `off` never sandboxes (warned).
Every command's output starts with one note line saying which happened; the proposal page and
Validation read it back with sandbox_notes().
"""

from __future__ import annotations

import errno
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

MODES = ("required", "auto", "off")
SANDBOX_UID = SANDBOX_GID = 65534
# Inside the sandbox: a fresh tmpfs that only this command sees.
SANDBOX_TMP = "/tmp"  # noqa: S108
# The host PATH may name directories the sandbox cannot see (a pyenv under /root): the system's.
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_DIRS = ("/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
MAX_OUTPUT_BYTES = 8 * 1024 * 1024
OPEN_FILES = 1024
FILE_BYTES = 1024 * 1024 * 1024
TMP_BYTES = 512 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_NOTE_RE = re.compile(r"^\[sandbox( warning)?: (.+)\]$", re.M)


class SandboxUnavailable(Exception):
    """WATTSON_SANDBOX=required and bubblewrap cannot run here: nothing is executed."""


@dataclass(frozen=True)
class SandboxPolicy:
    """What the next command runs under, decided from WATTSON_SANDBOX at call time."""

    setting: str  # required | auto | off
    sandboxed: bool
    warning: str = ""


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int
    memory_bytes: int
    processes: int
    open_files: int = OPEN_FILES
    file_bytes: int = FILE_BYTES
    tmp_bytes: int = TMP_BYTES
    output_bytes: int = MAX_OUTPUT_BYTES

    @classmethod
    def for_timeout(cls, timeout: float) -> SandboxLimits:
        """Limits from settings; CPU time may use the whole wall-clock budget, no more."""
        return cls(
            cpu_seconds=max(1, int(timeout) + 1),
            memory_bytes=settings.WATTSON_SANDBOX_MEMORY_MB * 1024 * 1024,
            processes=settings.WATTSON_SANDBOX_MAX_PROCESSES,
        )

    def describe(self) -> str:
        return (
            f"{self.cpu_seconds} s CPU, {self.memory_bytes // (1024 * 1024)} MiB memory, "
            f"{self.processes} processes, {self.open_files} open files, "
            f"{self.output_bytes // (1024 * 1024)} MiB output"
        )


@dataclass(frozen=True)
class SandboxedRun:
    returncode: int | None  # None: timed out
    output: str  # starts with the note line
    seconds: float


def sandbox_policy() -> SandboxPolicy:
    """The policy for a command about to run; SandboxUnavailable when `required` cannot hold."""
    setting = settings.WATTSON_SANDBOX
    if setting == "off":
        return SandboxPolicy(
            "off", False, "WATTSON_SANDBOX=off: this command ran unsandboxed, as the worker"
        )
    problem = bubblewrap_problem()
    if not problem:
        return SandboxPolicy(setting, True)
    if setting == "required":
        raise SandboxUnavailable(
            f"WATTSON_SANDBOX=required and {problem}: the repository's commands were not run "
            "(install the Debian package bubblewrap, or set WATTSON_SANDBOX=auto)"
        )
    return SandboxPolicy(
        "auto", False, f"{problem} (WATTSON_SANDBOX=auto): this command ran unsandboxed"
    )


@lru_cache(maxsize=4)
def _probe(bwrap: str, prlimit: str, uid: int) -> str:
    """'' when a trivial command runs in the sandbox exactly as commands will, else why not."""
    with tempfile.TemporaryDirectory(prefix="wattson-probe-") as scratch:
        limits = SandboxLimits(cpu_seconds=5, memory_bytes=512 * 1024 * 1024, processes=64)
        try:
            run = _run_bwrap(["true"], cwd=Path(scratch), env={}, timeout=20, limits=limits)
        except OSError as exc:
            return f"bubblewrap cannot start ({exc.strerror or exc})"
    if run.returncode == 0:
        return ""
    detail = run.output.strip().splitlines()[-1:] or ["no output"]
    return f"bubblewrap cannot create a sandbox here ({detail[0][:200]})"


def bubblewrap_problem() -> str:
    """Why commands cannot be sandboxed on this machine, or '' when they can."""
    bwrap, prlimit = shutil.which("bwrap"), shutil.which("prlimit")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed"
    if not prlimit:
        return "prlimit (util-linux) is not installed"
    return _probe(bwrap, prlimit, os.geteuid())


def note_line(policy: SandboxPolicy, limits: SandboxLimits) -> str:
    """The first line of every command's output: what confined it, or a warning that nothing did."""
    if not policy.sandboxed:
        return f"[sandbox warning: {policy.warning}]"
    return (
        "[sandbox: bubblewrap: no network, read-only system, only a copy of the worktree and a "
        f"private /tmp writable, uid {SANDBOX_UID}, limits {limits.describe()}]"
    )


def sandbox_notes(*logs: str) -> dict[str, object]:
    """What the logs say about the sandbox: {"mode", "notes", "warnings"} ({} if nothing ran).

    A command could print a note line of its own; that can only add a note, never hide the
    warning a real unsandboxed run wrote, so any warning makes the mode "unsandboxed".
    """
    notes: list[str] = []
    warnings: list[str] = []
    for log in logs:
        for warned, text in _NOTE_RE.findall(log or ""):
            target = warnings if warned else notes
            if text not in target:
                target.append(text)
    if not notes and not warnings:
        return {}
    mode = "unsandboxed" if warnings else "bubblewrap"
    return {"mode": mode, "notes": notes, "warnings": warnings}


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    env: dict[str, str],
    timeout: float,
    policy: SandboxPolicy,
) -> SandboxedRun:
    """Run argv in cwd under `policy`; OSError when the program cannot be started."""
    limits = SandboxLimits.for_timeout(timeout)
    note = note_line(policy, limits)
    if policy.sandboxed:
        result = _run_bwrap(argv, cwd=Path(cwd), env=env, timeout=timeout, limits=limits)
    else:
        result = _run_plain(argv, cwd=Path(cwd), env=env, timeout=timeout, limits=limits)
    return SandboxedRun(result.returncode, f"{note}\n{result.output}", result.seconds)


def _run_plain(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float, limits: SandboxLimits
) -> SandboxedRun:
    """The unsandboxed path (auto without bubblewrap, off): own session, killed as a group."""
    process = subprocess.Popen(
        list(argv),
        cwd=str(cwd),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return _collect(process, timeout=timeout, max_bytes=limits.output_bytes)


def _run_bwrap(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float, limits: SandboxLimits
) -> SandboxedRun:
    """Copy cwd to a private staging dir, run argv on the copy under bwrap, remove the copy."""
    _check_visible(argv[0], cwd)
    as_root = os.geteuid() == 0
    staging = Path(tempfile.mkdtemp(prefix="wattson-sandbox-"))
    try:
        copy = staging / "worktree"
        shutil.copytree(cwd, copy, symlinks=True)
        if as_root:
            _chown_tree(staging, SANDBOX_UID, SANDBOX_GID)
        command = [*prlimit_argv(limits), *bwrap_argv(argv, copy=copy, inside=cwd, limits=limits)]
        process = subprocess.Popen(
            command,
            cwd=str(staging),
            env={**env, "PATH": SANDBOX_PATH},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Popen drops groups, then gid, then uid, in the child before bwrap starts.
            user=SANDBOX_UID if as_root else None,
            group=SANDBOX_GID if as_root else None,
            extra_groups=[] if as_root else None,
        )
        return _collect(process, timeout=timeout, max_bytes=limits.output_bytes)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_visible(program: str, cwd: Path) -> None:
    """FileNotFoundError unless the program exists where the sandbox can see it."""
    if "/" not in program:
        found = shutil.which(program, path=SANDBOX_PATH) is not None
    else:
        path = (cwd / program).resolve()
        visible = (cwd.resolve(), *(Path(d) for d in SYSTEM_DIRS))
        found = path.exists() and any(path.is_relative_to(d) for d in visible)
    if not found:
        raise FileNotFoundError(errno.ENOENT, "not found inside the sandbox", program)


def prlimit_argv(limits: SandboxLimits) -> list[str]:
    return [
        shutil.which("prlimit") or "prlimit",
        f"--cpu={limits.cpu_seconds}",
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.processes}",
        f"--nofile={limits.open_files}",
        f"--fsize={limits.file_bytes}",
        "--core=0",
        "--",
    ]


def bwrap_argv(
    argv: Sequence[str], *, copy: Path, inside: Path, limits: SandboxLimits
) -> list[str]:
    """bwrap's arguments: empty root, system read-only, the copy bound at `inside`, then argv."""
    args = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_GID),
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
    ]
    for directory in SYSTEM_DIRS:
        path = Path(directory)
        if path.is_symlink():  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), directory]
        elif path.is_dir():
            args += ["--ro-bind", directory, directory]
    # Wattson itself may live under a system directory (/opt/wattson): hide it there too.
    for hidden in hidden_paths():
        args += ["--tmpfs", str(hidden)]
    args += ["--dev", "/dev", "--proc", "/proc"]
    args += ["--size", str(limits.tmp_bytes), "--tmpfs", SANDBOX_TMP]
    args += ["--bind", str(copy), str(inside), "--chdir", str(inside)]
    args += ["--setenv", "HOME", SANDBOX_TMP, "--setenv", "TMPDIR", SANDBOX_TMP]
    return [*args, "--", *argv]


def hidden_paths() -> list[Path]:
    """Wattson's own directories that fall inside a mounted system directory."""
    candidates = [
        Path(settings.BASE_DIR),
        Path(settings.VAR_DIR),
        Path(settings.WATTSON_WORK_DIR),
        Path.home(),
    ]
    database = str(settings.DATABASES["default"].get("NAME") or "")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and database:
        candidates.append(Path(database).parent)
    found: list[Path] = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved == Path("/") or not resolved.is_dir():
            continue
        inside = any(resolved.is_relative_to(d) and resolved != Path(d) for d in SYSTEM_DIRS)
        if inside and resolved not in found:
            found.append(resolved)
    return found


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    """lchown everything under top (never following a link) so the sandbox user owns its copy."""
    os.lchown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), uid, gid)


def _collect(process: subprocess.Popen[bytes], *, timeout: float, max_bytes: int) -> SandboxedRun:
    """Read output until EOF, the deadline or the cap; then make sure the whole group is gone."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    stopped = ""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stopped = f"timed out after {timeout:g}s and was killed"
                break
            if not selector.select(remaining):
                continue
            data = os.read(process.stdout.fileno(), _READ_CHUNK)
            if not data:
                break
            size += len(data)
            if size > max_bytes:
                chunks.append(data[: max(0, len(data) - (size - max_bytes))])
                stopped = f"printed more than {max_bytes} bytes and was killed"
                break
            chunks.append(data)
    if not stopped:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stopped = f"timed out after {timeout:g}s and was killed"
    # The group: whatever the command started in it must not outlive the step.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    seconds = time.perf_counter() - started
    output = b"".join(chunks).decode(errors="replace")
    if stopped:
        output += f"\n[{stopped}]\n"
    returncode: int | None = process.returncode
    if stopped.startswith("timed out"):
        returncode = None
    elif stopped:
        returncode = -signal.SIGKILL
    return SandboxedRun(returncode, output, seconds)
