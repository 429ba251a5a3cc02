import time

from tags.normalize import clean_tags

WORDS = ["sunset", "beach", "dog", "mountain", "zebra", "yacht", "xylophone", "winter", "www"]
UPLOADS = [[f"#{WORDS[(i + j) % 9]}{j % 7}" for j in range(12)] for i in range(600)]

best = float("inf")
for _ in range(7):
    started = time.perf_counter()
    for tags in UPLOADS:
        clean_tags(tags)
    best = min(best, time.perf_counter() - started)
print(f"seconds: {best:.6f}")
