# Cordon's native Python worker. Runs inside the sandbox (bwrap + seccomp + rlimits + cgroup) as the
# session's unprivileged uid, started by dev.cordon.nativetier.NativeSession with
#   /usr/bin/python3 -I -B /run/cordon/lib/cordon_worker.py
# It keeps one namespace across calls (like a REPL) and talks to the host over a unix socket that
# the host accepts exactly once (the socket file is removed right after), with frames of
# 4-byte big-endian length + UTF-8 JSON:
#   host -> worker  {"op":"config", ...}            once, first
#   worker -> host  {"op":"ready", "pid":..}
#   host -> worker  {"op":"exec", "id":N, "code":..., "stdin":b64|null, "marker":hex, "fresh":bool}
#   worker -> host  {"op":"exec?", "exe":..., "children":n, "phase":"call"|"idle"}   a process start
#   host -> worker  {"allow":bool, "errno":n, "message":...}
#   worker -> host  {"op":"pip", "argv":[...], "cwd":...}     a pip command (config "pip": true)
#   host -> worker  {"handled":bool, "exit":n, "stdout":..., "stderr":...}
#   worker -> host  {"op":"done", "id":N, "status":"ok"|"error"|"stopped", "error":{type,message,traceback,errno}}
# Guest stdout/stderr are the process's fd 1 and 2, read by the host; after each call the worker
# writes the call's marker to both so the host knows where the call's output ends.
#
# Nothing here is a security boundary by itself: guest code runs in this process and can reach
# everything the worker can. The boundaries are outside (the sandbox) or in the kernel (Landlock
# for exec, installed before any guest code runs). The audit hook only makes denials readable.

import base64
import ctypes
import importlib
import io
import json
import linecache
import os
import signal
import socket
import re
import struct
import subprocess
import sys
import threading
import traceback

IO_DIR = '/run/cordon/io'
CTL = IO_DIR + '/ctl.sock'
FILENAME = '<cordon>'

_ctl = None
_ctl_lock = threading.Lock()
_in_call = False
_saved_fds = (1, 2)
_main_pid = os.getpid()
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _CordonStop(BaseException):
    """Raised in guest code when the host asks the call to stop (a limit tripped)."""


def _send(obj):
    data = json.dumps(obj).encode('utf-8')
    _ctl.sendall(struct.pack('>I', len(data)) + data)


def _recv():
    head = _recv_exact(4)
    if head is None:
        return None
    (n,) = struct.unpack('>I', head)
    body = _recv_exact(n)
    if body is None:
        return None
    return json.loads(body.decode('utf-8'))


def _recv_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = _ctl.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


# ---- exec restriction (kernel-enforced) ---------------------------------------------------------

def _syscall(nr, *args):
    r = _libc.syscall(ctypes.c_long(nr), *args)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [('allowed_access', ctypes.c_uint64), ('parent_fd', ctypes.c_int32)]


def _landlock_exec_only(paths):
    """Only the files in `paths` can be executed from now on, by this process and its children.
    Landlock handles just the EXECUTE right here: reading and writing stay as the sandbox allows."""
    LANDLOCK_ACCESS_FS_EXECUTE = 1
    attr = ctypes.c_uint64(LANDLOCK_ACCESS_FS_EXECUTE)
    ruleset = _syscall(444, ctypes.byref(attr), ctypes.sizeof(attr), 0)  # landlock_create_ruleset
    try:
        for p in paths:
            try:
                fd = os.open(p, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = _PathBeneath(LANDLOCK_ACCESS_FS_EXECUTE, fd)
                _syscall(445, ruleset, 1, ctypes.byref(rule), 0)  # landlock_add_rule(PATH_BENEATH)
            finally:
                os.close(fd)
        _syscall(446, ruleset, 0)  # landlock_restrict_self
    finally:
        os.close(ruleset)


class _SockFilter(ctypes.Structure):
    _fields_ = [('code', ctypes.c_uint16), ('jt', ctypes.c_uint8), ('jf', ctypes.c_uint8), ('k', ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(_SockFilter))]


def _seccomp_load(program):
    """Stacks a BPF program compiled by the host (no_new_privs is already set by bwrap)."""
    n = len(program) // 8
    arr = (_SockFilter * n).from_buffer_copy(program)
    prog = _SockFprog(n, arr)
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'cannot load the no-exec filter: ' + os.strerror(e))


# ---- process starts: the host decides, for a readable PermissionError and the audit ------------

def _live_children():
    n = 0
    try:
        for tid in os.listdir('/proc/self/task'):
            with open('/proc/self/task/%s/children' % tid) as f:
                n += len(f.read().split())
    except OSError:
        pass
    return n


def _exec_hook(event, args):
    if event == 'subprocess.Popen':
        exe = args[0]
    elif event in ('os.exec', 'os.posix_spawn'):
        exe = args[0]
    elif event == 'os.spawn':
        exe = args[1]
    elif event == 'os.system':
        exe = '/bin/sh'
    else:
        return
    if isinstance(exe, (bytes, bytearray)):
        exe = os.fsdecode(exe)
    exe = str(exe) if exe is not None else ''
    if os.getpid() != _main_pid:
        # A copy of the worker made by os.fork() in guest code shares the worker's control socket
        # with it: it must never speak on it (the host would read its frames as the worker's).
        raise PermissionError(13, 'Cordon: a forked copy of the worker cannot start processes (use subprocess)')
    with _ctl_lock:
        # Only inside a call is the host reading this socket. Outside one (the worker's own
        # preload, a guest thread between calls) the start is refused here, without the host.
        if not _in_call:
            raise PermissionError(13, 'Cordon: no process starts outside a call')
        _send({'op': 'exec?', 'exe': exe, 'children': _live_children(), 'phase': 'call'})
        reply = _recv()
    if reply is None:
        raise PermissionError(13, 'Cordon: the host is gone')
    if not reply.get('allow'):
        err = reply.get('errno', 13)
        raise (BlockingIOError if err == 11 else PermissionError)(err, reply.get('message', 'blocked'))


# ---- pip: served by Cordon's installer on the host -----------------------------------------------
#
# pip never runs in the sandbox. A pip command started through subprocess (and so os.popen and
# asyncio) or os.system is handed to the host, which decides it against the policy's
# approved_packages and index_url, installs into the session's site directory, and answers with
# the output and exit status the command should have. The guest gets a finished Popen (its pipes
# carry that output) without any process being started. This is a convenience, not a boundary:
# guest code that bypasses it only reaches the ordinary process gate, where pip is just a command.

_PIP = re.compile(r'pip(3(\.[0-9]{1,2})?)?$')
_PY = re.compile(r'python(3(\.[0-9]{1,2})?)?$')
# pid_max is at most 2**22: a served command gets a pid no process can have (os.kill on it: ESRCH).
_NO_PID = 2 ** 22 + 1


def _argv_of(args, executable, shell):
    if isinstance(args, (str, bytes, os.PathLike)):
        argv = [os.fsdecode(args)]
    else:
        argv = [os.fsdecode(a) for a in args]
    if shell:
        return ['/bin/sh', '-c'] + argv
    if executable is not None and argv:
        argv[0] = os.fsdecode(executable)
    return argv


def _maybe_pip(argv):
    """A cheap filter; the host parses the command exactly and may still say it is not pip."""
    if not argv:
        return False
    name = os.path.basename(argv[0])
    if _PIP.match(name):
        return True
    if _PY.match(name):
        return 'pip' in argv[1:6] or '-mpip' in argv[1:6]
    if name in ('sh', 'bash', 'dash') and len(argv) >= 3 and argv[1] == '-c':
        return 'pip' in argv[2]
    return False


def _ask_pip(argv, cwd):
    with _ctl_lock:
        if not _in_call:
            raise PermissionError(13, 'Cordon: no process starts outside a call')
        _send({'op': 'pip', 'argv': argv, 'cwd': os.fsdecode(cwd) if cwd else os.getcwd()})
        reply = _recv()
    if reply is None:
        raise PermissionError(13, 'Cordon: the host is gone')
    if not reply.get('handled'):
        return None
    # New files in a sys.path directory: make the next import look again.
    importlib.invalidate_caches()
    return reply


def _write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _feed(fd, data):
    try:
        _write_all(fd, data)
    except OSError:
        pass
    finally:
        os.close(fd)


_execute_child = subprocess.Popen._execute_child
_system = os.system


def _served_execute_child(self, args, executable, *rest):
    # CPython 3.11 POSIX signature: preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
    # creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite, ...
    cwd, shell = rest[3], rest[7]
    p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite = rest[8:14]
    argv = _argv_of(args, executable, shell)
    reply = _ask_pip(argv, cwd) if _maybe_pip(argv) else None
    if reply is None:
        return _execute_child(self, args, executable, *rest)
    out = reply.get('stdout', '').encode('utf-8')
    err = reply.get('stderr', '').encode('utf-8')
    if errwrite != -1 and errwrite == c2pwrite:
        out, err = out + err, b''
    for data, fd, std in ((out, c2pwrite, 1), (err, errwrite, 2)):
        if not data:
            continue
        if fd == -1:
            (sys.stdout if std == 1 else sys.stderr).flush()
            _write_all(std, data)
        else:
            # A thread, so output larger than a pipe buffer cannot block before the guest reads.
            threading.Thread(target=_feed, args=(os.dup(fd), data), daemon=True, name='cordon-pip').start()
    self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
    self.pid = _NO_PID
    self.returncode = reply.get('exit', 1)
    self._child_created = False


def _served_system(command):
    argv = ['/bin/sh', '-c', os.fsdecode(command)]
    reply = _ask_pip(argv, None) if _maybe_pip(argv) else None
    if reply is None:
        return _system(command)
    for data, std in ((reply.get('stdout', ''), 1), (reply.get('stderr', ''), 2)):
        if data:
            (sys.stdout if std == 1 else sys.stderr).flush()
            _write_all(std, data.encode('utf-8'))
    return (reply.get('exit', 1) & 0xff) << 8


def _serve_pip():
    subprocess.Popen._execute_child = _served_execute_child
    os.system = _served_system


# ---- egress bridge: 127.0.0.1:PORT -> the host proxy's unix socket -----------------------------

def _load_bridge():
    # The one-shot commands' bridge (cordon_bridge.py, beside this file in the read-only lib dir),
    # loaded by path: -I keeps this directory off sys.path, and the module stays out of
    # sys.modules, so guest imports never see it.
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cordon_bridge.py')
    spec = importlib.util.spec_from_file_location('_cordon_bridge', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- calls ---------------------------------------------------------------------------------------

def _stop(signum, frame):
    # Only guest code is stopped: a late signal after the call ended must not hit the worker loop.
    if _in_call:
        raise _CordonStop()


# The error types Cordon itself reports (dev.cordon.ExecResult.Error.CORDON_TYPES; a test keeps the
# two lists equal). A guest exception class with one of these names is reported qualified, so the
# host's statuses cannot be faked by naming a class after them.
CORDON_TYPES = frozenset(('BadRequest', 'Cancelled', 'EngineError', 'LimitExceeded', 'NativeTierUnavailable',
                          'PackagesUnavailable', 'WorkerDied', 'WorkerError'))


def _guest_type(t):
    name = t.__name__
    if name not in CORDON_TYPES:
        return name
    module = getattr(t, '__module__', None)
    return '%s.%s' % (module, t.__qualname__) if isinstance(module, str) and module else 'guest.' + name


def _format_error(e):
    # The worker's own frames (the exec() call above <cordon>, the audit hook that raised a
    # denial) are not the guest's: leave them out of every traceback in the chain.
    te = traceback.TracebackException.from_exception(e)
    seen = set()
    t = te
    while t is not None and id(t) not in seen:
        seen.add(id(t))
        t.stack = traceback.StackSummary.from_list([f for f in t.stack if f.filename != __file__])
        t = t.__cause__ or t.__context__
    text = ''.join(te.format())
    return {'type': _guest_type(type(e)), 'message': str(e), 'traceback': text,
            'errno': getattr(e, 'errno', None) if isinstance(e, OSError) else None}


def _run(req, ns):
    global _in_call
    code = req['code']
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    stdin = req.get('stdin')
    sys.stdin = io.TextIOWrapper(io.BytesIO(base64.b64decode(stdin) if stdin else b''), encoding='utf-8')
    status, error = 'ok', None
    _in_call = True
    try:
        exec(compile(code, FILENAME, 'exec'), ns)
    except _CordonStop:
        status = 'stopped'
    except SystemExit as e:
        c = e.code
        if c is None or c == 0:
            status = 'ok'
        else:
            status = 'error'
            error = {'type': 'SystemExit', 'message': 'exit status %s' % c if isinstance(c, int) else str(c),
                     'traceback': None, 'errno': None}
    except BaseException as e:  # the guest's error, reported as its type, message and traceback
        status = 'error'
        error = _format_error(e)
    finally:
        _in_call = False
    return status, error


def _streams():
    return (io.TextIOWrapper(os.fdopen(1, 'wb', closefd=False), encoding='utf-8', errors='backslashreplace',
                             line_buffering=False, write_through=False),
            io.TextIOWrapper(os.fdopen(2, 'wb', closefd=False), encoding='utf-8', errors='backslashreplace',
                             line_buffering=False, write_through=False))


def _restore_streams():
    # Guest code may close sys.stdout/sys.stderr, close fd 1 and 2, or point them elsewhere: put
    # the host's pipes back after every call (from copies made at start-up), so the call's marker
    # and every later call's output reach the host. False when even the copies are gone.
    for fd, saved in ((1, _saved_fds[0]), (2, _saved_fds[1])):
        try:
            os.dup2(saved, fd)
        except OSError:
            return False
    if sys.stdout is None or sys.stderr is None or sys.stdout.closed or sys.stderr.closed:
        sys.stdout, sys.stderr = _streams()
    return True


def _end_of_output(marker):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    for fd in (1, 2):
        try:
            os.write(fd, marker)
        except OSError:
            pass


def main():
    global _ctl
    _ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _ctl.connect(CTL)
    cfg = _recv()
    if cfg is None or cfg.get('op') != 'config':
        sys.exit(3)
    # Exec restriction first, before anything of the guest's can run.
    if cfg.get('exec') == 'landlock':
        _landlock_exec_only(cfg.get('exec_allow', []))
    else:
        _seccomp_load(base64.b64decode(cfg['noexec_bpf']))
    if cfg.get('proxy_port'):
        _load_bridge().listen(cfg['proxy_port'])
    sys.addaudithook(_exec_hook)
    signal.signal(signal.SIGUSR1, _stop)
    global _saved_fds
    _saved_fds = (os.dup(1), os.dup(2))
    sys.stdout, sys.stderr = _streams()
    workspace = cfg['workspace']
    os.chdir(workspace)
    sys.path.insert(0, workspace)
    site = cfg.get('site')
    if site:
        # Installed packages come before the host's (as a user site would), after the stdlib.
        at = next((i for i, p in enumerate(sys.path) if p.endswith(('dist-packages', 'site-packages'))), len(sys.path))
        sys.path.insert(at, site)
    if cfg.get('pip'):
        _serve_pip()
    _send({'op': 'ready', 'pid': os.getpid(), 'python': sys.version.split()[0]})
    # Warm the packages the policy preinstalls while the host is not waiting for us yet: the first
    # call then finds them in sys.modules. A failure here is not the guest's problem.
    for mod in cfg.get('preload', []):
        try:
            __import__(mod)
        except BaseException:
            pass
    fresh_ns = lambda: {'__name__': '__main__', '__builtins__': __builtins__}
    ns = fresh_ns()
    while True:
        with _ctl_lock:
            req = _recv()
        if req is None or req.get('op') == 'exit':
            return
        if req.get('fresh'):
            ns = fresh_ns()
            os.chdir(workspace)
        marker = req['marker'].encode('ascii')
        try:
            status, error = _run(req, ns)
        except _CordonStop:
            status, error = 'stopped', None
        if os.getpid() != _main_pid:
            # A child guest code forked (os.fork, pty.fork) that returned into the worker: it is
            # not the worker and must not answer the host (found by the escape corpus: a forked
            # pty.spawn child sent a second "done"). It ends here, quietly.
            os._exit(0)
        intact = _restore_streams()
        _end_of_output(marker)
        with _ctl_lock:
            _send({'op': 'done', 'id': req['id'], 'status': status, 'error': error})
        if not intact:
            # The guest closed even the copies of the host's pipes: this worker cannot report
            # output any more. End it; the host starts a fresh one for the next call.
            os._exit(4)


if __name__ == '__main__':
    main()
