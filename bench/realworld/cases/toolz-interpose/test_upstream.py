"""Run toolz's pytest-style test functions under the standard library's unittest.

toolz's tests are plain `test_*` functions with bare asserts (no pytest features), so each one
becomes a unittest.FunctionTestCase; nothing in them is changed.
"""

import unittest

from toolz.tests import test_itertoolz as upstream


def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    for name, func in sorted(vars(upstream).items()):
        if name.startswith("test") and callable(func):
            suite.addTest(unittest.FunctionTestCase(func, description=name))
    return suite
