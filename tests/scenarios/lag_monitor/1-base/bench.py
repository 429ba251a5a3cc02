import time

from lag.monitor import lagging_partitions

TOPICS = ["orders", "clicks", "invoices", "audit"]
PARTITIONS = [
    {"index": i, "topic": TOPICS[i % 4], "lag_ms": (i * 7907) % 1500, "paused": i % 13 == 0}
    for i in range(3000)
]
RECENT_LAG_MS = [(i * 613) % 400 + 50 for i in range(120)]

best = float("inf")
for _ in range(7):
    started = time.perf_counter()
    lagging_partitions(PARTITIONS, RECENT_LAG_MS)
    best = min(best, time.perf_counter() - started)
print(f"seconds: {best:.6f}")
