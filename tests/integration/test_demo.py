"""The quickstart: deploy/demo.sh (make demo) succeeds, shows ciphertext at rest and plaintext
to the application, and leaves nothing running."""
import os
import subprocess
import unittest

import peers as h


class DemoTest(unittest.TestCase):
    def test_demo(self):
        def running():
            # This checkout's dynalite only: other checkouts' test runs may start theirs.
            mine = "dynaseal-demo|" + os.path.join(h.ROOT, "tests", "node", "node_modules")
            out = subprocess.run(["pgrep", "-f", mine], capture_output=True, text=True)
            return sorted(out.stdout.split())
        before = running()
        r = subprocess.run([os.path.join(h.ROOT, "deploy", "demo.sh")], capture_output=True, text=True,
                           timeout=180, env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertIn("demo: OK", r.stdout)
        self.assertIn('"B":', r.stdout)                  # the stored item shows ciphertext
        self.assertIn("078-05-1120", r.stdout)           # the application's view shows plaintext
        # Only processes the demo started count: others of the machine may end meanwhile.
        self.assertEqual(sorted(set(running()) - set(before)), [], "the demo left processes running")


if __name__ == "__main__":
    unittest.main()
