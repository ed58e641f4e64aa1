"""Tests of cordon_client against a real `cordon serve` (stdlib unittest; no pytest needed).

    CORDON_COMMAND="/path/to/cordon/bin/cordon" /usr/bin/python3 -m unittest -v test_cordon_client

The Java test suite runs this file with CORDON_COMMAND set to the build's java command line.
"""

import os
import shutil
import tempfile
import threading
import unittest

from cordon_client import CordonError, CordonREPL, CordonServer, PythonREPL, format_result

POLICY = """\
execution:
  sandbox:
    filesystem:
      persist_across_calls: true
"""


class ClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cordon-client-test-")
        cls.policy = os.path.join(cls.dir, "policy.yaml")
        with open(cls.policy, "w") as f:
            f.write(POLICY)
        cls.root = os.path.join(cls.dir, "ws")
        cls.log = open(os.path.join(cls.dir, "server.log"), "wb")
        cls.server = CordonServer(policy=cls.policy, workspace_root=cls.root, pool=2, stderr=cls.log)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def repl(self, session):
        r = CordonREPL(session=session, server=self.server)
        self.addCleanup(r.close)
        return r

    def test_state_across_calls(self):
        r = self.repl("state")
        self.assertEqual(r.run("x = 6 * 7"), "(no output: the code ran; print() what you want to see)")
        self.assertEqual(r.run("print(x)"), "42\n")
        self.assertEqual(r.run("x += 1\nprint(x)"), "43\n")

    def test_is_the_langchain_name(self):
        self.assertIs(PythonREPL, CordonREPL)

    def test_guest_error_is_text_not_exception(self):
        r = self.repl("errors")
        out = r.run("print('before')\n1 / 0")
        self.assertTrue(out.startswith("before\n[error] Traceback"), out)
        self.assertIn("ZeroDivisionError", out)
        self.assertEqual(r.run_result("1/0")["status"], "error")

    def test_blocked_operation_explained(self):
        r = self.repl("blocked")
        out = r.run("open('/etc/passwd').read()")
        self.assertIn("PermissionError", out)
        self.assertIn("[blocked] filesystem.read /etc/passwd (policy rule filesystem.workspace_only)", out)
        self.assertIn("Fix: ", out)
        with open("/etc/passwd") as f:
            first = f.readline().strip()
        self.assertNotIn(first, out, "host file content leaked")
        result = r.run_result("import subprocess\nsubprocess.run(['id'])")
        self.assertEqual(result["blocked"][0]["policy"], "subprocess.allow")

    def test_upload_bytes_and_file(self):
        r = self.repl("uploads")
        self.assertEqual(r.upload("data.csv", b"a,b\n1,2\n3,4\n"), "/workspace/uploads/data.csv")
        host = os.path.join(self.dir, "notes.txt")
        with open(host, "w") as f:
            f.write("hello from the host")
        self.assertEqual(r.upload(host), "/workspace/uploads/notes.txt")
        out = r.run("import csv\nrows = list(csv.DictReader(open('/workspace/uploads/data.csv')))\n"
                    "print(sum(int(x['b']) for x in rows), open('/workspace/uploads/notes.txt').read())")
        self.assertEqual(out, "6 hello from the host\n")
        self.assertTrue(os.path.isfile(os.path.join(self.root, "uploads", "uploads", "data.csv")))

    def test_outputs_listed(self):
        r = self.repl("outputs")
        out = r.run("import os\nos.makedirs('/workspace/outputs', exist_ok=True)\n"
                    "open('/workspace/outputs/r.txt', 'w').write('12345')\nprint('done')")
        self.assertEqual(out, "done\n[outputs] /workspace/outputs/r.txt (5 bytes)")
        with open(os.path.join(self.root, "outputs", "outputs", "r.txt")) as f:
            self.assertEqual(f.read(), "12345")

    def test_sessions_are_isolated_and_concurrent(self):
        a, b = self.repl("iso-a"), self.repl("iso-b")
        a.run("secret = 'a'")
        self.assertIn("NameError", b.run("print(secret)"))
        results = {}

        def work(repl, key):
            results[key] = repl.run("import time\ntime.sleep(0.5)\nprint('%s')" % key)

        threads = [threading.Thread(target=work, args=(a, "from-a")), threading.Thread(target=work, args=(b, "from-b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(results, {"from-a": "from-a\n", "from-b": "from-b\n"})

    def test_stdin(self):
        r = self.repl("stdin")
        self.assertEqual(r.run_result("print(input().upper())", stdin="quiet\n")["stdout"], "QUIET\n")

    def test_close_session_forgets_state(self):
        r = CordonREPL(session="closing", server=self.server)
        r.run("y = 1")
        r.close()
        with self.assertRaises(CordonError):
            r.run("print(y)")
        again = self.repl("closing")
        self.assertIn("NameError", again.run("print(y)"))

    def test_describe(self):
        text = self.repl("describe").describe()
        self.assertIn("Python code you run executes in a sandbox", text)
        self.assertIn("persist across calls", text)


class OwnedServerTest(unittest.TestCase):

    def test_repl_owns_and_stops_its_server(self):
        log = tempfile.TemporaryFile()
        self.addCleanup(log.close)
        repl = CordonREPL(pool=0, stderr=log)
        self.assertEqual(repl.run("print(sum(range(10)))"), "45\n")
        # The default policy: each call starts fresh.
        repl.run("z = 1")
        self.assertIn("NameError", repl.run("print(z)"))
        repl.close()
        self.assertEqual(repl.server.returncode, 0, "the server exits cleanly when the client closes")
        log.seek(0)
        text = log.read().decode()
        self.assertIn("cordon: serving JSON lines", text)
        self.assertIn("cordon: [default] ok", text)

    def test_a_missing_server_is_a_clear_error(self):
        with self.assertRaises(OSError):
            CordonServer(command=["/nonexistent/cordon"])
        server = CordonServer(command=["/bin/false"])
        repl = CordonREPL(server=server)
        server._reader.join(10)
        with self.assertRaises(CordonError):
            repl.run("print(1)")
        repl.close()
        server.close()

    def test_format_result_without_a_server(self):
        self.assertEqual(format_result({"status": "ok", "stdout": ""}), "(no output: the code ran; print() what you want to see)")
        text = format_result({"status": "limit", "limit": "wall", "stdout": "partial",
                              "error": {"type": "LimitExceeded", "message": "wall-clock limit", "traceback": None}})
        self.assertEqual(text, "partial\n[limit: wall] LimitExceeded: wall-clock limit")


if __name__ == "__main__":
    unittest.main()
