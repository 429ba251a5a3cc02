import unittest

from audit.trail import actions_per_actor


class ActionsPerActorTest(unittest.TestCase):
    def test_counts_each_action_of_each_actor(self):
        events = [
            {"actor": "ann", "action": "login"},
            {"actor": "ann", "action": "login"},
            {"actor": "bob", "action": "export"},
            {"actor": None, "action": "rotate-keys"},
        ]
        self.assertEqual(actions_per_actor(events), {"ann": {"login": 2}, "bob": {"export": 1}})
