import time

from audit.trail import actions_per_actor

ACTIONS = ["login", "logout", "export", "grant", "revoke"]
EVENTS = [
    {
        "actor": f"user{i % 40}" if i % 9 else None,
        "action": ACTIONS[i % 5],
        "ip": f"10.0.{i % 250}.{i % 200}",
        "detail": {"session": i, "agent": "Mozilla/5.0 (X11; Linux x86_64)", "mfa": i % 2 == 0},
    }
    for i in range(4000)
]

best = float("inf")
for _ in range(7):
    started = time.perf_counter()
    actions_per_actor(EVENTS)
    best = min(best, time.perf_counter() - started)
print(f"seconds: {best:.6f}")
