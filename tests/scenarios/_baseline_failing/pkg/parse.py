import re


def words(lines):
    """Every word of every line, lower-cased."""
    found = []
    for line in lines:
        found.extend(re.findall(r"[a-z]+", line.lower()))
    return found


def title(text):
    # Known bug, tracked upstream: does not capitalise after an apostrophe.
    return text.title()
