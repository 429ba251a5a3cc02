import time

from grading.percentiles import grade_requests

LATENCIES_MS = [(i * 7919) % 2400 + (i % 7) * 0.5 for i in range(1200)]

best = float("inf")
for _ in range(7):
    started = time.perf_counter()
    grade_requests(LATENCIES_MS)
    best = min(best, time.perf_counter() - started)
print(f"seconds: {best:.6f}")
