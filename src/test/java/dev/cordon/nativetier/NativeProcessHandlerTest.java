package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.GuestErrors;
import dev.cordon.policy.FilesystemPolicy;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import dev.cordon.policy.SubprocessPolicy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process gate and the sandbox, judged from outside: canaries absent from every output, files
 * absent on disk, listeners that counted no connection, pids gone.
 */
class NativeProcessHandlerTest {

    static Path ws;
    static TestPolicies.Recorder audit = new TestPolicies.Recorder();
    static NativeProcessHandler gate;
    static Policy policy = TestPolicies.commands(List.of("python", "head", "cat", "wc", "sleep"), List.of("rm", "curl"));

    @BeforeAll
    static void open() throws Exception {
        ws = Files.createTempDirectory("cordon-gate-");
        Files.writeString(ws.resolve("data.csv"), "a,b\n1,2\n3,4\n");
        gate = NativeProcessHandler.create(policy, ws, audit);
    }

    @AfterAll
    static void close() {
        gate.close();
        NativeWorkspace.deleteTree(ws);
    }

    @Test
    void allowedCommandSeesTheWorkspaceAtItsGuestPath() throws Exception {
        Run r = Run.of(gate, "/usr/bin/head", "-n", "2", "/workspace/data.csv");
        assertEquals(0, r.rc(), r.err());
        assertEquals("a,b\n1,2\n", r.out());
        Run wc = Run.of(gate, "wc", "-l", "data.csv"); // plain name, relative path from the guest cwd
        assertEquals("3 data.csv\n", wc.out(), wc.err());
    }

    @Test
    void deniedCommandsArePermissionErrorsWithAuditAndNothingRuns() throws Exception {
        Path marker = ws.resolve("ls-ran");
        int before = audit.denials.size();
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> Run.of(gate, "/usr/bin/touch", "/workspace/ls-ran"));
        assertEquals(GuestErrors.MARKER + GuestErrors.EACCES, e.getFile());
        assertTrue(e.getReason().contains("add \"touch\" to execution.sandbox.subprocess.allowed_commands"), e.getReason());
        assertFalse(Files.exists(marker));
        assertEquals("[BLOCKED] subprocess=touch policy=subprocess.allowed_commands", audit.lines().get(before));

        assertThrows(FileSystemException.class, () -> Run.of(gate, "/usr/bin/curl", "http://x"));
        assertEquals("[BLOCKED] subprocess=curl policy=subprocess.blocked_commands", audit.lines().getLast());
        // A workspace file named like an allowed command is not that command.
        Files.writeString(ws.resolve("head"), "#!/bin/sh\ntouch /workspace/ls-ran\n");
        ws.resolve("head").toFile().setExecutable(true);
        assertThrows(FileSystemException.class, () -> Run.of(gate, "/workspace/head"));
        assertThrows(FileSystemException.class, () -> Run.of(gate, "./head"));
        assertFalse(Files.exists(marker));
        Files.delete(ws.resolve("head"));
        // Allowed name that does not exist on the host: FileNotFoundError, so GraalPy tries the next PATH entry.
        assertThrows(NoSuchFileException.class, () -> Run.of(gate, "/usr/local/bin/head"));
    }

    @Test
    void cannotReadCanariesOutsideTheWorkspace() throws Exception {
        String canary = "CANARY-" + UUID.randomUUID();
        Path dir = Files.createTempDirectory("cordon-canary-");
        Path file = dir.resolve("secret.txt");
        Files.writeString(file, canary);
        file.toFile().setReadable(true, false);
        dir.toFile().setExecutable(true, false);
        dir.toFile().setReadable(true, false);
        try {
            String code = """
                    import os, glob
                    for p in [%s, '/etc/shadow', '/root', '/proc/1/environ', '/run/cordon', '/home']:
                        try:
                            if os.path.isdir(p):
                                print(p, os.listdir(p))
                            else:
                                print(p, open(p).read())
                        except Exception as e:
                            print(p, type(e).__name__)
                    found = []
                    for top in ('/', '/tmp', '/run', '/workspace', '/etc', '/var', '/dev'):
                        for root, dirs, files in os.walk(top):
                            if root == '/':
                                dirs[:] = [d for d in dirs if d not in ('usr', 'proc', 'sys')]
                            found += [os.path.join(root, f) for f in files if f == 'secret.txt']
                    print('found', found)
                    """.formatted("'" + file + "'");
            Run r = Run.of(gate, "/usr/bin/python3", "-c", code);
            assertEquals(0, r.rc(), r.all());
            assertFalse(r.all().contains(canary), r.all());
            assertTrue(r.out().contains(file + " FileNotFoundError"), r.out());
            assertTrue(r.out().contains("found []"), r.out());
            Run cat = Run.of(gate, "cat", file.toString());
            assertFalse(cat.all().contains(canary), cat.all());
            assertTrue(cat.rc() != 0);
        } finally {
            NativeWorkspace.deleteTree(dir);
        }
    }

    @Test
    void cannotWriteOutsideTheWorkspace() throws Exception {
        String tag = UUID.randomUUID().toString();
        Path hostTmp = Path.of("/tmp/cordon-escape-" + tag);
        String code = """
                import os
                for p in ['/tmp/cordon-escape-%1$s', '/etc/cordon-escape-%1$s', '/usr/cordon-escape-%1$s',
                          '/cordon-escape-%1$s', '/run/cordon/lib/x-%1$s', '/workspace/../cordon-escape-%1$s',
                          '/run/cordon/io/x-%1$s', '/dev/x-%1$s']:
                    try:
                        open(p, 'w').write('x')
                        print(p, 'written-inside-sandbox')
                    except OSError as e:
                        print(p, e.errno)
                """.formatted(tag);
        Run r = Run.of(gate, "python3", "-c", code);
        assertEquals(0, r.rc(), r.all());
        for (Path p : List.of(hostTmp, Path.of("/etc/cordon-escape-" + tag), Path.of("/usr/cordon-escape-" + tag),
                Path.of("/cordon-escape-" + tag), ws.getParent().resolve("cordon-escape-" + tag))) {
            assertFalse(Files.exists(p), p + " must not exist on the host");
        }
        // /tmp inside is the sandbox's own tmpfs: writable there, invisible here.
        assertTrue(r.out().contains("/tmp/cordon-escape-" + tag + " written-inside-sandbox"), r.out());
        assertTrue(r.out().contains("/etc/cordon-escape-" + tag + " 30"), r.out()); // EROFS
        assertTrue(r.out().contains("/run/cordon/io/x-" + tag + " 30"), r.out());
        assertTrue(r.out().contains("/dev/x-" + tag + " 30"), r.out());
        try (var io = Files.list(NativeTier.get().config().stateDir().resolve("io"))) {
            for (Path d : io.toList()) {
                assertFalse(Files.exists(d.resolve("x-" + tag)));
            }
        }
        Files.list(NativeTier.get().libDir()).forEach(f -> assertFalse(f.getFileName().toString().contains(tag)));
    }

    @Test
    void cannotConnectToHostLoopbackListeners() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        accepted.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            String code = """
                    import socket
                    for fam, addr in [(socket.AF_INET, ('127.0.0.1', %1$d)), (socket.AF_INET6, ('::1', %1$d))]:
                        try:
                            s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(2); s.connect(addr); print('connected')
                        except OSError as e:
                            print('refused', e.errno)
                    """.formatted(server.getLocalPort());
            Run r = Run.of(gate, "python3", "-c", code);
            assertFalse(r.out().contains("connected"), r.all());
            // No egress in this policy: the socket() call itself fails (EAFNOSUPPORT from seccomp).
            assertTrue(r.out().contains("refused 97"), r.all());
            Thread.sleep(200);
            assertEquals(0, accepted.get());
        }
    }

    @Test
    void seccompDenialsAreObserved() throws Exception {
        String code = """
                import ctypes, os, socket
                libc = ctypes.CDLL(None, use_errno=True)
                def sys(nr, *a):
                    r = libc.syscall(nr, *a)
                    return 0 if r >= 0 else ctypes.get_errno()
                res = {}
                res['ptrace'] = sys(101, 0, 0, 0, 0)            # PTRACE_TRACEME works unprivileged without the filter
                res['mount'] = sys(165, b'none', b'/tmp', b'tmpfs', 0, None)
                res['keyctl'] = sys(250, 0, -1, 0)              # KEYCTL_GET_KEYRING_ID
                res['io_uring_setup'] = sys(425, 4, ctypes.create_string_buffer(120))
                res['bpf'] = sys(321, 0, None, 0)
                res['unshare'] = sys(272, 0x10000000)
                res['perf_event_open'] = sys(298, None, 0, -1, -1, 0)
                for name, fam, typ in [('AF_PACKET', 17, socket.SOCK_DGRAM), ('AF_NETLINK', 16, socket.SOCK_DGRAM),
                                       ('AF_INET_RAW', 2, socket.SOCK_RAW), ('AF_ALG', 38, socket.SOCK_SEQPACKET),
                                       ('AF_UNIX', 1, socket.SOCK_STREAM)]:
                    try:
                        socket.socket(fam, typ).close(); res[name] = 0
                    except OSError as e:
                        res[name] = e.errno
                # The upper half of an int argument is ignored by the kernel: it must not dodge the filter.
                res['AF_PACKET_high'] = sys(41, (1 << 32) | 17, 2, 0)
                print(res)
                """;
        Run r = Run.of(gate, "python3", "-c", code);
        assertEquals(0, r.rc(), r.all());
        Map<String, Integer> res = parse(r.out());
        assertEquals(1, res.get("ptrace"), r.out());
        assertEquals(1, res.get("mount"), r.out());
        assertEquals(1, res.get("keyctl"), r.out());
        assertEquals(1, res.get("io_uring_setup"), r.out());
        assertEquals(1, res.get("bpf"), r.out());
        assertEquals(1, res.get("unshare"), r.out());
        assertEquals(1, res.get("perf_event_open"), r.out());
        // EAFNOSUPPORT (97) is the filter's answer; the kernel alone would say EPERM (AF_PACKET needs
        // CAP_NET_RAW) or allow (AF_NETLINK, AF_ALG). Raw sockets match two rules: either errno is the filter's.
        assertEquals(97, res.get("AF_PACKET"), r.out());
        assertEquals(97, res.get("AF_NETLINK"), r.out());
        assertTrue(res.get("AF_INET_RAW") == 97 || res.get("AF_INET_RAW") == 1, r.out()); // two rules match
        assertEquals(97, res.get("AF_ALG"), r.out());
        assertEquals(97, res.get("AF_PACKET_high"), r.out());
        assertEquals(0, res.get("AF_UNIX"), r.out());
    }

    private static Map<String, Integer> parse(String dict) {
        Map<String, Integer> m = new java.util.HashMap<>();
        for (String kv : dict.strip().replaceAll("[{}']", "").split(", ")) {
            String[] p = kv.split(": ");
            m.put(p[0], Integer.parseInt(p[1].strip()));
        }
        return m;
    }

    @Test
    void blockedCommandsAreMaskedEvenForLaunchers() throws Exception {
        Files.writeString(ws.resolve("keep.txt"), "keep");
        String code = """
                import subprocess
                for argv in (['rm', '/workspace/keep.txt'], ['/usr/bin/rm', '/workspace/keep.txt'],
                             ['/usr/bin/env', 'rm', '/workspace/keep.txt']):
                    try:
                        print(argv[0], subprocess.run(argv).returncode)
                    except OSError as e:
                        print(argv[0], 'errno', e.errno)
                """;
        Run r = Run.of(gate, "python3", "-c", code);
        assertEquals(0, r.rc(), r.all());
        assertTrue(Files.exists(ws.resolve("keep.txt")), r.all());
        assertTrue(r.out().contains("rm errno 13"), r.out());
        assertTrue(r.out().contains("/usr/bin/env 126"), r.out()); // env: cannot execute
        Files.delete(ws.resolve("keep.txt"));
    }

    @Test
    void environmentIsFixedAndLoaderVariablesAreDropped() throws Exception {
        Run r = Run.of(gate, "/workspace", Map.of("FOO", "bar", "LD_PRELOAD", "/workspace/x.so", "PATH", "/workspace",
                "GCONV_PATH", "/workspace"), "python3", "-c", "import os; print(sorted(os.environ.items()))");
        assertEquals(0, r.rc(), r.all());
        assertTrue(r.out().contains("('FOO', 'bar')"), r.out());
        assertTrue(r.out().contains("('PATH', '/usr/local/bin:/usr/bin:/bin')"), r.out());
        assertFalse(r.out().contains("LD_PRELOAD"), r.out());
        assertFalse(r.out().contains("GCONV_PATH"), r.out());
        assertFalse(r.out().contains("JAVA_HOME"), r.out());
    }

    @Test
    void runsAsTheSessionUidNotRoot() throws Exception {
        Run r = Run.of(gate, "python3", "-c",
                "import os; print(os.getuid(), os.geteuid(), os.getgroups(), open('/proc/self/status').read().split('CapEff:')[1].split()[0])");
        assertEquals(0, r.rc(), r.all());
        String[] f = r.out().strip().split(" ", 3);
        if (NativeTier.get().root()) {
            assertTrue(Long.parseLong(f[0]) >= NativeTier.get().config().uidBase(), r.out());
        }
        assertTrue(r.out().strip().endsWith("0000000000000000"), "no effective capabilities: " + r.out());
        // Files the sandbox writes belong to that uid on the host.
        Run w = Run.of(gate, "python3", "-c", "open('/workspace/owned.txt','w').write('x')");
        assertEquals(0, w.rc(), w.all());
        assertEquals(Long.parseLong(f[0]), ((Integer) Files.getAttribute(ws.resolve("owned.txt"), "unix:uid")).longValue());
        Files.delete(ws.resolve("owned.txt"));
    }

    @Test
    void maxProcessesCapsConcurrentChildren() throws Exception {
        Policy one = policy.withResources(new ResourcesPolicy(256, 10, 1, 1, 30));
        Path dir = Files.createTempDirectory("cordon-procs-");
        TestPolicies.Recorder rec = new TestPolicies.Recorder();
        try (NativeProcessHandler h = NativeProcessHandler.create(one, dir, rec)) {
            Process first = h.start(org.graalvm.polyglot.io.ProcessHandler.ProcessCommand.create(List.of("sleep", "30"),
                    "/workspace", Map.of(), false, org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE,
                    org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE, org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE));
            FileSystemException e = assertThrows(FileSystemException.class, () -> Run.of(h, "head", "/dev/null"));
            assertEquals(GuestErrors.MARKER + GuestErrors.EAGAIN, e.getFile());
            assertEquals("[BLOCKED] limit=processes target=head policy=resources.max_processes", rec.lines().getLast());
            first.destroy();
            first.waitFor();
            assertEquals(0, Run.of(h, "head", "/dev/null").rc());
        } finally {
            NativeWorkspace.deleteTree(dir);
        }
    }

    @Test
    void runtimeLimitKillsTheWholeTreeLeavingNoProcess() throws Exception {
        Policy shortRun = policy.withSubprocess(new SubprocessPolicy(true, List.of("python3", "sleep"), List.of(), 2));
        Path dir = Files.createTempDirectory("cordon-runtime-");
        TestPolicies.Recorder rec = new TestPolicies.Recorder();
        try (NativeProcessHandler h = NativeProcessHandler.create(shortRun, dir, rec)) {
            String code = """
                    import subprocess, os, time
                    kids = [subprocess.Popen(['/usr/bin/sleep', '300']) for _ in range(3)]
                    if os.fork() == 0:
                        os.setsid()                      # a daemon trying to escape the group
                        time.sleep(300)
                    print('started', flush=True)
                    time.sleep(300)
                    """;
            SandboxProcess p = (SandboxProcess) h.start(org.graalvm.polyglot.io.ProcessHandler.ProcessCommand.create(
                    List.of("python3", "-c", code), "/workspace", Map.of(), false,
                    org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE, org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE,
                    org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE));
            byte[] line = new byte[8];
            int n = p.getInputStream().readNBytes(line, 0, 8);
            assertEquals("started\n", new String(line, 0, n));
            Set<Long> pids = new HashSet<>(p.sandbox().pids());
            p.sandbox().process.descendants().forEach(d -> pids.add(d.pid()));
            assertTrue(pids.size() >= 6, "bwrap, its reaper, python, 3 sleeps and the daemon: " + pids);
            long t0 = System.nanoTime();
            int rc = p.waitFor();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 5000, "killed at the 2 s runtime limit, took " + ms + " ms");
            assertTrue(rc != 0);
            List<Long> alive = new ArrayList<>(pids);
            for (int i = 0; i < 40 && !alive.isEmpty(); i++) {
                Thread.sleep(50);
                alive.removeIf(pid -> !running(pid));
            }
            assertEquals(List.of(), alive, "every process of the tree is gone");
            assertTrue(rec.lines().contains("[BLOCKED] limit=runtime target=python3 policy=subprocess.max_runtime_seconds"),
                    rec.lines().toString());
        } finally {
            NativeWorkspace.deleteTree(dir);
        }
    }

    @Test
    void forkBombIsContained() throws Exception {
        Policy bombPolicy = policy.withSubprocess(new SubprocessPolicy(true, List.of("python3"), List.of(), 4));
        Path dir = Files.createTempDirectory("cordon-bomb-");
        try (NativeProcessHandler h = NativeProcessHandler.create(bombPolicy, dir, new TestPolicies.Recorder())) {
            long uid = h.workspaceUid();
            String code = """
                    import os, time
                    n = 0
                    while True:
                        try:
                            if os.fork() == 0:
                                while True:
                                    try: os.fork()
                                    except OSError: time.sleep(0.01)
                            n += 1
                        except OSError:
                            time.sleep(0.01)
                    """;
            SandboxProcess p = (SandboxProcess) h.start(org.graalvm.polyglot.io.ProcessHandler.ProcessCommand.create(
                    List.of("python3", "-c", code), "/workspace", Map.of(), false,
                    org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE, org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE,
                    org.graalvm.polyglot.io.ProcessHandler.Redirect.PIPE));
            long peak = 0;
            long bound = Specs.maxPids(bombPolicy, false);
            while (p.isAlive()) {
                peak = Math.max(peak, tasksOf(uid));
                Thread.sleep(50);
            }
            assertTrue(peak > 10, "the bomb did fork: " + peak);
            assertTrue(peak <= bound, "at most " + bound + " tasks, saw " + peak);
            for (int i = 0; i < 40 && tasksOf(uid) > 0; i++) {
                Thread.sleep(50);
            }
            assertEquals(0, tasksOf(uid), "nothing of the bomb is left");
            // The host still forks fine.
            assertEquals(0, Run.of(h, "python3", "-c", "pass").rc());
        } finally {
            NativeWorkspace.deleteTree(dir);
        }
    }

    /**
     * Whether {@code pid} is a live process. A zombie is not: it is dead and waits only for the
     * host's init (the container's pid 1 here) to collect its exit status.
     */
    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    /** Live tasks (threads included) on the host owned by {@code uid}. */
    static long tasksOf(long uid) throws IOException {
        long n = 0;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                if (!p.getFileName().toString().matches("[0-9]+")) {
                    continue;
                }
                try {
                    if (((Integer) Files.getAttribute(p, "unix:uid")).longValue() == uid
                            && running(Long.parseLong(p.getFileName().toString()))) {
                        try (var t = Files.list(p.resolve("task"))) {
                            n += t.count();
                        }
                    }
                } catch (IOException e) {
                    // exited meanwhile
                }
            }
        }
        return n;
    }

    @Test
    void memoryHogFailsCleanly() throws Exception {
        Run r = Run.of(gate, "python3", "-c", "x = bytearray(1024 * 1024 * 1024)");
        assertTrue(r.rc() != 0);
        assertTrue(r.err().contains("MemoryError"), r.err());
    }

    @Test
    void workspaceSizeIsBounded() throws Exception {
        Policy small = policy.withFilesystem(new FilesystemPolicy("/workspace", true, 16, true, "/workspace/uploads",
                "/workspace/outputs"));
        Path dir = Files.createTempDirectory("cordon-quota-");
        TestPolicies.Recorder rec = new TestPolicies.Recorder();
        try (NativeProcessHandler h = NativeProcessHandler.create(small, dir, rec)) {
            // Many files: RLIMIT_FSIZE alone would allow each of them.
            String code = """
                    import os
                    written = 0
                    try:
                        for i in range(40):
                            with open(f'/workspace/f{i}.bin', 'wb') as f:
                                f.write(os.urandom(1024 * 1024))
                            written += 1
                    except OSError as e:
                        print('stopped', e.errno, written)
                    """;
            Run r = Run.of(h, "python3", "-c", code);
            long total = 0;
            try (var s = Files.list(dir)) {
                for (Path f : s.toList()) {
                    total += Files.size(f);
                }
            }
            assertTrue(total <= 17L * 1024 * 1024, "workspace holds " + total + " bytes");
            if (h.workspace().quota() == NativeWorkspace.Quota.IMAGE) {
                assertTrue(r.out().contains("stopped 28"), r.all()); // ENOSPC from the kernel
            } else {
                assertTrue(rec.lines().stream().anyMatch(l -> l.contains("filesystem.max_size_mb")), rec.lines().toString());
            }
        } finally {
            NativeWorkspace.deleteTree(dir);
        }
    }

    @Test
    void withoutImagesTheScanningFallbackKillsAWriterOverTheBound(@TempDir Path tmp) throws Exception {
        Path state = Files.createTempDirectory(Path.of("/tmp"), "cordon-state-");
        Files.setPosixFilePermissions(state, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        NativeTier scanning = NativeTier.get(NativeConfig.fromSystemProperties().withWorkspaceImages(false)
                .withStateDir(state));
        assertTrue(scanning.check().workspaceQuota().startsWith("scan"), scanning.check().workspaceQuota());
        Policy small = policy.withFilesystem(new FilesystemPolicy("/workspace", true, 8, true, "/workspace/uploads",
                "/workspace/outputs"));
        Path dir = tmp.resolve("ws");
        TestPolicies.Recorder rec = new TestPolicies.Recorder();
        try (NativeProcessHandler h = NativeProcessHandler.create(scanning, small, dir, rec)) {
            assertEquals(NativeWorkspace.Quota.SCAN, h.workspace().quota());
            String code = """
                    import os, time
                    for i in range(100):
                        with open(f'/workspace/f{i}.bin', 'wb') as f:
                            f.write(os.urandom(512 * 1024))
                        time.sleep(0.05)
                    print('wrote everything')
                    """;
            Run r = Run.of(h, "python3", "-c", code);
            assertFalse(r.out().contains("wrote everything"), r.all());
            // The scanner kills the writer, then reports: the process can end before the line is in.
            String line = "[BLOCKED] filesystem=write path=/workspace policy=filesystem.max_size_mb";
            for (int i = 0; i < 50 && !rec.lines().contains(line); i++) {
                Thread.sleep(100);
            }
            assertTrue(rec.lines().contains(line), rec.lines().toString());
            long total = 0;
            try (var s = Files.list(dir)) {
                for (Path f : s.toList()) {
                    total += Files.isRegularFile(f) ? Files.size(f) : 0;
                }
            }
            // Soft: the scan runs every 200 ms, so up to ~2 MB more than the bound at this write rate.
            assertTrue(total < 11L * 1024 * 1024, "workspace holds " + total);
            FileSystemException full = assertThrows(FileSystemException.class, () -> Run.of(h, "python3", "-c", "pass"));
            assertEquals(GuestErrors.MARKER + GuestErrors.ENOSPC, full.getFile());
        } finally {
            NativeWorkspace.deleteTree(state);
        }
    }

    @Test
    void readOnlyWorkspaceAndTheAuditLogCannotBeWritten() throws Exception {
        Path dir = Files.createTempDirectory("cordon-ro-");
        Files.writeString(dir.resolve("in.txt"), "data");
        Policy ro = policy.withFilesystem(new FilesystemPolicy("/workspace", false, 16, true, "/workspace/uploads",
                "/workspace/outputs"));
        try (NativeProcessHandler h = NativeProcessHandler.create(ro, dir, new TestPolicies.Recorder())) {
            Run r = Run.of(h, "python3", "-c", "print(open('/workspace/in.txt').read()); open('/workspace/new.txt','w')");
            assertTrue(r.out().startsWith("data"), r.all());
            assertTrue(r.err().contains("Read-only file system"), r.err());
            assertFalse(Files.exists(dir.resolve("new.txt")));
        } finally {
            NativeWorkspace.deleteTree(dir);
        }
        Path dir2 = Files.createTempDirectory("cordon-log-");
        Policy logged = policy.withLogging(new LoggingPolicy(LoggingPolicy.Level.INFO, true, "/workspace/sandbox.log",
                false, false));
        try (NativeProcessHandler h = NativeProcessHandler.create(logged, dir2, new TestPolicies.Recorder())) {
            Files.writeString(dir2.resolve("sandbox.log"), "[BLOCKED] real line\n");
            Run r = Run.of(h, "python3", "-c", """
                    import os
                    for op in (lambda: open('/workspace/sandbox.log', 'a').write('[BLOCKED] forged\\n'),
                               lambda: os.remove('/workspace/sandbox.log'),
                               lambda: os.rename('/workspace/sandbox.log', '/workspace/x')):
                        try:
                            op(); print('done')
                        except OSError as e:
                            print('errno', e.errno)
                    """);
            assertFalse(r.out().contains("done"), r.all());
            assertEquals("[BLOCKED] real line\n", Files.readString(dir2.resolve("sandbox.log")));
        } finally {
            NativeWorkspace.deleteTree(dir2);
        }
    }

    @Test
    void missingBwrapIsRefusedAndNothingRuns(@TempDir Path tmp) throws Exception {
        NativeConfig broken = NativeConfig.fromSystemProperties().withBwrap(tmp.resolve("no-such-bwrap"))
                .withStateDir(tmp.resolve("state"));
        NativeTier tier = NativeTier.get(broken);
        Availability a = tier.check();
        assertFalse(a.available());
        assertTrue(a.missing().getFirst().contains("apt-get install -y bubblewrap"), a.missing().toString());
        Path dir = tmp.resolve("ws");
        NativeTierUnavailableException e = assertThrows(NativeTierUnavailableException.class,
                () -> NativeProcessHandler.create(tier, policy, dir, new TestPolicies.Recorder()));
        assertTrue(e.getMessage().contains("bubblewrap is not installed at " + tmp.resolve("no-such-bwrap")), e.getMessage());
        assertTrue(e.getMessage().contains("never runs code unsandboxed"), e.getMessage());
        // The launcher refuses too, even with a workspace prepared by a working tier.
        Path marker = ws.resolve("marker-" + UUID.randomUUID());
        assertThrows(NativeTierUnavailableException.class, () -> tier.launcher().start(new Launcher.Request(
                gate.workspace(), policy, List.of("/usr/bin/python3", "-c", "open('/workspace/" + marker.getFileName()
                        + "','w')"), "/workspace", Map.of(), 0, false, List.of(), ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, false)));
        Thread.sleep(200);
        assertFalse(Files.exists(marker), "nothing ran");
        assertInstanceOf(NativeTierUnavailableException.class, e);
    }
}
