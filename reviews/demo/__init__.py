"""The demo: users for every role, small git repositories with real regressions, findings.

`manage.py demo` loads it (see reviews.demo.builder); the repositories are built from this
package's own fixtures (reviews/demo/fixtures/), so a fresh clone needs nothing else.
"""
