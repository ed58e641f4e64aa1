"""A stdlib-only Python client for Cordon, shaped like LangChain's PythonREPL.

    from cordon_client import CordonREPL

    repl = CordonREPL()                       # starts `bin/cordon serve` (or $CORDON_COMMAND serve)
    repl.run("x = 6 * 7")
    print(repl.run("print(x)"))               # "42\n": state is kept across calls
    repl.upload("sales.csv")                  # -> "/workspace/uploads/sales.csv"
    repl.close()

`run(command) -> str` returns what the code printed; when the call raised, hit a limit or had an
operation blocked, the text adds the error and each blocked operation with its policy rule and the
fix (the same text Cordon's MCP server and LangChain4j tool give a model). `run_result()` returns the
whole result (the `cordon exec --json` schema) as a dict.

The client speaks `cordon serve`'s JSON lines over the server's stdin/stdout: one request per line,
responses matched by id (calls of different sessions may answer out of order). One server process
can host many sessions: pass the same `CordonServer` to several `CordonREPL`s.

Which server to start: the `command` argument (a list, or a string split like a shell would), else
the CORDON_COMMAND environment variable, else this checkout's bin/cordon, else `cordon` on PATH.
The command is the cordon launcher; the client appends `serve` and its options.
"""

import base64
import itertools
import json
import os
import shlex
import subprocess
import threading

__all__ = ["CordonREPL", "PythonREPL", "CordonServer", "CordonError", "format_result", "default_command"]

NO_OUTPUT = "(no output: the code ran; print() what you want to see)"


class CordonError(RuntimeError):
    """The server is gone or answered something that is not a result (not an error of the guest code)."""


def default_command():
    """The cordon launcher to run: $CORDON_COMMAND, this checkout's bin/cordon, or `cordon` on PATH."""
    env = os.environ.get("CORDON_COMMAND")
    if env:
        return shlex.split(env)
    here = os.path.dirname(os.path.abspath(__file__))
    launcher = os.path.normpath(os.path.join(here, "..", "..", "bin", "cordon"))
    if os.access(launcher, os.X_OK):
        return [launcher]
    return ["cordon"]


def _command(command):
    if command is None:
        return default_command()
    if isinstance(command, str):
        return shlex.split(command)
    return list(command)


def format_result(result):
    """A result dict as text for a model: stdout, then (only when present) stderr, the error, each
    blocked operation with its rule and fix, the output files and notices."""
    parts = [result.get("stdout") or ""]

    def section(label, text):
        if parts[-1] and not parts[-1].endswith("\n"):
            parts.append("\n")
        parts.append("[%s] %s" % (label, text))

    if result.get("stderr"):
        section("stderr", result["stderr"])
    err = result.get("error")
    if err:
        label = "limit: %s" % (result.get("limit") or "unknown") if result.get("status") == "limit" else "error"
        tb = err.get("traceback")
        section(label, tb.strip() if tb and tb.strip() else "%s: %s" % (err.get("type"), err.get("message")))
    elif result.get("status") == "limit":
        section("limit: %s" % (result.get("limit") or "unknown"), "the call was stopped by a limit")
    for b in result.get("blocked") or []:
        section("blocked", "%s %s (policy rule %s): %s. Fix: %s"
                % (b.get("operation"), b.get("target"), b.get("policy"), b.get("reason"), b.get("fix")))
    outputs = result.get("outputs") or []
    if outputs:
        section("outputs", ", ".join("%s (%d bytes)" % (o["path"], o["bytes"]) for o in outputs))
    for n in result.get("notices") or []:
        section("notice", n)
    text = "".join(parts)
    return text if text.strip() else NO_OUTPUT


class CordonServer:
    """One `cordon serve` process. Thread-safe: requests from many threads, answers matched by id."""

    def __init__(self, command=None, policy=None, workspace_root=None, pool=None, stderr=None, extra_args=()):
        """
        command:        the cordon launcher (see module doc); `serve` and the options are appended
        policy:         a policy file (openclaw.exec.yaml schema); default: Cordon's embedded default
        workspace_root: where session workspaces go (DIR/<session>); default: a temp dir the server removes
        pool:           warm interpreters to keep ready
        stderr:         where the server's log goes (subprocess semantics); default: this process's stderr,
                        which shows the first build's progress and one summary line per call
        """
        self._base = _command(command)
        self._policy = policy
        argv = self._base + ["serve"]
        if policy is not None:
            argv += ["--policy", str(policy)]
        if workspace_root is not None:
            argv += ["--workspace-root", str(workspace_root)]
        if pool is not None:
            argv += ["--pool", str(int(pool))]
        argv += list(extra_args)
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()          # guards _pending and _closed
        self._write_lock = threading.Lock()    # one request line at a time
        self._pending = {}
        self._closed = False
        self._failure = None
        self._reader = threading.Thread(target=self._read, name="cordon-client-reader", daemon=True)
        self._reader.start()

    # --- protocol -------------------------------------------------------------------------

    def _read(self):
        try:
            for raw in self._proc.stdout:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue  # the server keeps stdout for the protocol; nothing else is expected there
                with self._lock:
                    slot = self._pending.pop(msg.get("id"), None)
                if slot is not None:
                    slot[1] = msg
                    slot[0].set()
        finally:
            code = self._proc.poll()
            with self._lock:
                self._failure = "the cordon server ended" + ("" if code is None else " (exit code %s)" % code)
                pending, self._pending = self._pending, {}
            for slot in pending.values():
                slot[0].set()

    def request(self, message, timeout=None):
        """Sends one request (a dict without "id") and returns its response dict."""
        rid = next(self._ids)
        slot = [threading.Event(), None]
        with self._lock:
            if self._closed or self._failure:
                raise CordonError(self._failure or "the client is closed")
            self._pending[rid] = slot
        line = json.dumps(dict(message, id=rid), ensure_ascii=False) + "\n"
        try:
            with self._write_lock:
                self._proc.stdin.write(line.encode("utf-8"))
                self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            with self._lock:
                self._pending.pop(rid, None)
            raise CordonError("cannot send to the cordon server: %s" % e)
        if not slot[0].wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
            raise TimeoutError("no answer from the cordon server within %s s" % timeout)
        if slot[1] is None:
            raise CordonError(self._failure or "the cordon server ended")
        return slot[1]

    def exec(self, session, code, stdin=None, timeout=None):
        req = {"session": session, "code": code}
        if stdin is not None:
            req["stdin"] = stdin
        return self.request(req, timeout)

    def upload(self, session, name, data, timeout=None):
        """Puts `data` (bytes) into the session's upload dir as `name`; returns the guest path."""
        resp = self.request({"op": "upload", "session": session, "name": name,
                             "base64": base64.b64encode(data).decode("ascii")}, timeout)
        if resp.get("status") != "ok":
            raise CordonError("upload refused: %s" % (resp.get("error") or {}).get("message"))
        return resp["path"]

    def close_session(self, session, timeout=None):
        """Closes a session: its interpreter ends and its private /tmp goes; workspace files stay."""
        return self.request({"op": "close", "session": session}, timeout).get("closed", False)

    def describe(self):
        """The policy's rules as text for a system prompt or tool description (`cordon describe`)."""
        argv = self._base + ["describe"] + (["--policy", str(self._policy)] if self._policy is not None else [])
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL).stdout.decode("utf-8")

    def close(self, timeout=60):
        """Ends the server: closing its stdin lets accepted calls answer, then it exits."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(5)
        self._proc.stdout.close()

    @property
    def returncode(self):
        return self._proc.poll()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CordonREPL:
    """A drop-in for LangChain's PythonREPL that runs code in a Cordon session.

    run(command) -> str, with variables kept across calls when the policy sets
    filesystem.persist_across_calls (the default policy starts each call fresh; see `cordon describe`).
    """

    def __init__(self, session="default", server=None, **server_options):
        """session: the session name ([A-Za-z0-9_-]{1,64}); server: a CordonServer to share, else one
        is started with server_options (command, policy, workspace_root, pool, stderr) and owned."""
        self.session = session
        self._owns_server = server is None
        if server is None:
            # One session: one warm interpreter is all it can use (the server's default keeps two).
            server_options.setdefault("pool", 1)
        self.server = server if server is not None else CordonServer(**server_options)
        self._closed = False

    def run(self, command, timeout=None):
        """Runs `command` (Python source); returns its output, with errors and blocked operations
        explained. Like PythonREPL, a guest error is text, not an exception; a timeout returns
        "Execution timed out" (the call itself goes on until the policy's limits stop it)."""
        try:
            return format_result(self.run_result(command, timeout=timeout))
        except TimeoutError:
            return "Execution timed out"

    def run_result(self, code, stdin=None, timeout=None):
        """Runs `code`; returns the whole result dict (status, stdout, stderr, error, blocked, outputs, ...)."""
        self._check_open()
        return self.server.exec(self.session, code, stdin=stdin, timeout=timeout)

    def upload(self, path_or_name, data=None):
        """Uploads a host file (a path), or `data` bytes under a plain file name; returns the guest path."""
        self._check_open()
        if data is None:
            with open(path_or_name, "rb") as f:
                data = f.read()
            name = os.path.basename(path_or_name)
        else:
            name = path_or_name
        return self.server.upload(self.session, name, data)

    def describe(self):
        return self.server.describe()

    def close(self):
        """Closes the session, and the server if this REPL started it."""
        if self._closed:
            return
        self._closed = True
        try:
            self.server.close_session(self.session)
        except CordonError:
            pass
        finally:
            if self._owns_server:
                self.server.close()

    def _check_open(self):
        if self._closed:
            raise CordonError("this CordonREPL is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# The name LangChain users already have in their code.
PythonREPL = CordonREPL
