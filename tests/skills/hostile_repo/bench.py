"""The hostile repository's benchmark: also leaves a daemon, then reports a time."""

import json
import subprocess
from pathlib import Path

TARGETS = json.loads(Path(__file__).with_name("targets.json").read_text())
subprocess.Popen(["sleep", TARGETS["daemon_seconds"]], start_new_session=True)
print("seconds: 0.01")
