package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.ExecResult;
import dev.cordon.policy.FilesystemPolicy;
import dev.cordon.policy.PackagesPolicy;
import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import dev.cordon.policy.SubprocessPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native engine: a persistent CPython worker in the sandbox, judged by its results and effects. */
class NativeSessionTest {

    static Path dir;
    static TestPolicies.Recorder audit = new TestPolicies.Recorder();
    static Policy policy = TestPolicies.dataAgent().withResources(new ResourcesPolicy(512, 3, 1, 2, 6));
    static NativeSession session;

    @BeforeAll
    static void open() throws Exception {
        dir = Files.createTempDirectory("cordon-native-");
        Files.createDirectories(dir.resolve("uploads"));
        Files.writeString(dir.resolve("uploads/sales.csv"), "month,units\njan,3\nfeb,5\nmar,4\n");
        session = NativeSession.create("t1", policy, dir, audit);
    }

    @AfterAll
    static void close() {
        session.close();
        NativeWorkspace.deleteTree(dir);
    }

    @Test
    void keepsStateLikeAReplAndCapturesBothStreams() {
        assertTrue(session.exec("counter = 41\nimport sys").ok());
        ExecResult r = session.exec("counter += 1\nprint(counter)\nprint('to stderr', file=sys.stderr)");
        assertEquals(ExecResult.Status.OK, r.status());
        assertEquals("42\n", r.stdout());
        assertEquals("to stderr\n", r.stderr());
        assertEquals("native", r.engine());
        assertEquals("t1", r.session());
        // Output written straight to the file descriptors (C code, child processes) is captured too.
        ExecResult fd = session.exec("import os; os.write(1, b'raw\\n')");
        assertEquals("raw\n", fd.stdout());
    }

    @Test
    void reportsThePythonErrorWithTheGuestTracebackOnly() {
        ExecResult r = session.exec("def f(x):\n    return 1 / x\n\nf(0)");
        assertEquals(ExecResult.Status.ERROR, r.status());
        assertEquals("ZeroDivisionError", r.error().type());
        assertEquals("division by zero", r.error().message());
        String tb = r.error().traceback();
        assertTrue(tb.contains("File \"<cordon>\", line 4, in <module>"), tb);
        assertTrue(tb.contains("return 1 / x"), tb);
        assertFalse(tb.contains("cordon_worker"), tb);
        ExecResult exit = session.exec("raise SystemExit(3)");
        assertEquals("SystemExit", exit.error().type());
        assertTrue(session.exec("import sys; sys.exit(0)").ok());
    }

    @Test
    void stdinIsPerCall() {
        ExecResult r = session.exec("print(input().upper())", "hello\n".getBytes());
        assertEquals("HELLO\n", r.stdout());
    }

    @Test
    void pandasAndMatplotlibWriteAPngToOutputs() throws Exception {
        ExecResult r = session.exec("""
                import pandas as pd
                import matplotlib
                import matplotlib.pyplot as plt
                df = pd.read_csv('/workspace/uploads/sales.csv')
                ax = df.plot(x='month', y='units', kind='bar')
                plt.savefig('/workspace/outputs/units.png')
                print(df['units'].sum(), matplotlib.get_backend())
                """);
        assertEquals(ExecResult.Status.OK, r.status(), r.toString());
        assertEquals("12 agg\n", r.stdout().toLowerCase());
        assertEquals(1, r.outputs().size(), r.outputs().toString());
        assertEquals("/workspace/outputs/units.png", r.outputs().getFirst().path());
        byte[] png = Files.readAllBytes(dir.resolve("outputs/units.png"));
        assertEquals(r.outputs().getFirst().bytes(), png.length);
        assertEquals((byte) 0x89, png[0]);
        assertEquals("PNG", new String(png, 1, 3));
    }

    @Test
    void processStartsAreDecidedByTheHostAndEnforcedByTheKernel() {
        int before = audit.denials.size();
        ExecResult ok = session.exec("import subprocess\nprint(subprocess.run(['head', '-n', '1', '/workspace/uploads/sales.csv'],"
                + " capture_output=True, text=True).stdout, end='')");
        assertEquals("month,units\n", ok.stdout(), ok.toString());
        ExecResult denied = session.exec("import subprocess\nsubprocess.run(['ls', '/'])");
        assertEquals("PermissionError", denied.error().type());
        assertTrue(denied.error().message().contains("add \"ls\" to execution.sandbox.subprocess.allowed_commands"),
                denied.error().message());
        assertEquals(1, denied.blocked().size());
        assertEquals("subprocess.allowed_commands", denied.blocked().getFirst().policy());
        assertEquals("[BLOCKED] subprocess=ls policy=subprocess.allowed_commands", audit.lines().get(before));
        // Bypassing the audit hook with a raw execve: Landlock refuses it in the kernel.
        String marker = "ran-" + UUID.randomUUID();
        ExecResult raw = session.exec("""
                import ctypes, os
                libc = ctypes.CDLL(None, use_errno=True)
                pid = os.fork()
                if pid == 0:
                    argv = (ctypes.c_char_p * 3)(b'/usr/bin/touch', b'/workspace/%s', None)
                    libc.execv(b'/usr/bin/touch', argv)
                    os._exit(ctypes.get_errno())
                print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
                """.formatted(marker));
        assertEquals("13\n", raw.stdout(), raw.toString()); // EACCES
        assertFalse(Files.exists(dir.resolve(marker)));
        // A workspace copy of an allowed program is not that program either.
        ExecResult copy = session.exec("""
                import shutil, subprocess, os
                shutil.copy('/usr/bin/head', '/workspace/head'); os.chmod('/workspace/head', 0o755)
                try:
                    subprocess.run(['/workspace/head', '/workspace/uploads/sales.csv'])
                except PermissionError as e:
                    print('denied', e.errno)
                os.remove('/workspace/head')
                """);
        assertEquals("denied 13\n", copy.stdout(), copy.toString());
    }

    @Test
    void noSubprocessesAtAllWhenThePolicySaysSo(@TempDir Path tmp) throws Exception {
        Policy none = policy.withSubprocess(SubprocessPolicy.DENY_ALL);
        try (NativeSession s = NativeSession.create("t2", none, tmp.resolve("ws"), new TestPolicies.Recorder())) {
            ExecResult r = s.exec("import os\nos.system('true')");
            assertEquals("PermissionError", r.error().type(), r.toString());
            assertEquals("subprocess.allow", r.blocked().getFirst().policy());
            ExecResult raw = s.exec("""
                    import ctypes, os
                    libc = ctypes.CDLL(None, use_errno=True)
                    pid = os.fork()
                    if pid == 0:
                        libc.execv(b'/usr/bin/true', (ctypes.c_char_p * 2)(b'true', None))
                        os._exit(ctypes.get_errno())
                    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
                    """);
            assertEquals("13\n", raw.stdout(), raw.toString()); // the no-exec filter: EACCES
        }
    }

    @Test
    void memoryHogEndsWithLimitMemoryAndTheWorkerSurvives() {
        session.exec("survivor = 'still here'");
        ExecResult r = session.exec("hog = bytearray(2 * 1024 * 1024 * 1024)");
        assertEquals(ExecResult.Status.LIMIT, r.status(), r.toString());
        assertEquals(ExecResult.Limit.MEMORY, r.limit());
        assertEquals("MemoryError", r.error().type());
        assertEquals("still here\n", session.exec("print(survivor)").stdout());
    }

    @Test
    void theMemoryCgroupBoundsWhatRlimitAsCannotSee(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeTier.get().cgroups().memory(), "no memory cgroup here");
        Policy p = policy.withResources(new ResourcesPolicy(256, 30, 1, 2, 30));
        try (NativeSession s = NativeSession.create("oom", p, tmp.resolve("ws"), new TestPolicies.Recorder())) {
            // memfd pages are charged to the cgroup but are not address space until mapped
            // (several files: each stays under RLIMIT_FSIZE).
            ExecResult r = s.exec("""
                    import os
                    chunk = b'x' * (1 << 20)
                    fds = [os.memfd_create('hog%d' % i) for i in range(6)]
                    for fd in fds:
                        for i in range(100):
                            os.write(fd, chunk)
                    print('survived')
                    """);
            assertEquals(ExecResult.Status.LIMIT, r.status(), r.toString());
            assertEquals(ExecResult.Limit.MEMORY, r.limit());
            assertFalse(r.stdout().contains("survived"));
            assertTrue(s.exec("print(1)").ok());
        }
    }

    @Test
    void cpuAndWallLimitsStopTheCallAndKeepTheState(@TempDir Path tmp) throws Exception {
        // Its own session with a generous wall limit: on a loaded host a busy loop gets less than
        // one CPU, and the CPU limit must be what trips.
        Policy p = policy.withResources(new ResourcesPolicy(512, 2, 1, 2, 60));
        try (NativeSession s = NativeSession.create("cpu", p, tmp.resolve("ws"), new TestPolicies.Recorder())) {
            s.exec("kept = 7");
            ExecResult cpu = s.exec("while True:\n    pass");
            assertEquals(ExecResult.Status.LIMIT, cpu.status(), cpu.toString());
            assertEquals(ExecResult.Limit.CPU, cpu.limit());
            assertTrue(cpu.timing().cpuMs() >= 2000, cpu.timing().toString());
            assertTrue(cpu.error().message().contains("resources.max_cpu_seconds"), cpu.error().message());
            assertEquals("7\n", s.exec("print(kept)").stdout());
        }
        session.exec("kept = 8");
        ExecResult wall = session.exec("import time\ntime.sleep(60)");
        assertEquals(ExecResult.Limit.WALL, wall.limit(), wall.toString());
        assertTrue(wall.timing().wallMs() < 9000, wall.timing().toString());
        ExecResult last = session.exec("print(kept)");
        assertEquals("8\n", last.stdout(), wall + "\n" + last);
    }

    @Test
    void outputLimitTruncatesAndStops() {
        ExecResult r = session.exec("while True:\n    print('x' * 1000)");
        assertEquals(ExecResult.Status.LIMIT, r.status(), r.error() + "");
        assertEquals(ExecResult.Limit.OUTPUT, r.limit());
        assertTrue(r.stdoutTruncated());
        assertTrue(r.stdout().length() + r.stderr().length() <= 1024 * 1024 + 200, "" + r.stdout().length());
        assertTrue(r.stdout().endsWith(OutputCapture.TRUNCATED));
        assertEquals("fine\n", session.exec("print('fine')").stdout());
    }

    @Test
    void aGuestThatIgnoresTheStopIsKilledAndTheNextCallGetsAFreshWorker(@TempDir Path tmp) throws Exception {
        Policy p = policy.withResources(new ResourcesPolicy(512, 1, 1, 2, 30));
        try (NativeSession s = NativeSession.create("t3", p, tmp.resolve("ws"), new TestPolicies.Recorder())) {
            s.exec("lost = 1");
            ExecResult r = s.exec("import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\nwhile True:\n    pass");
            assertEquals(ExecResult.Status.LIMIT, r.status(), r.toString());
            assertEquals(ExecResult.Limit.CPU, r.limit());
            assertTrue(r.stderr().contains("Python globals from earlier calls are gone"), r.stderr());
            ExecResult next = s.exec("print(lost)");
            assertEquals("NameError", next.error().type());
            assertEquals("ok\n", s.exec("print('ok')").stdout());
        }
    }

    @Test
    void aWorkerThatDiesIsReportedAndReplaced(@TempDir Path tmp) throws Exception {
        try (NativeSession s = NativeSession.create("t4", policy, tmp.resolve("ws"), new TestPolicies.Recorder())) {
            s.exec("gone = True");
            ExecResult r = s.exec("import os\nprint('bye', flush=True)\nos._exit(7)");
            assertEquals(ExecResult.Status.ERROR, r.status());
            assertEquals("WorkerDied", r.error().type());
            assertTrue(r.error().message().contains("exit status 7"), r.error().message());
            assertEquals("bye\n", r.stdout());
            ExecResult killed = s.exec("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)");
            assertEquals("WorkerDied", killed.error().type());
            assertTrue(killed.error().message().contains("signal 9"), killed.error().message());
            ExecResult fresh = s.exec("print('gone' in globals())");
            assertTrue(fresh.ok(), fresh.toString());
            assertEquals("False\n", fresh.stdout());
        }
    }

    @Test
    void withoutPersistenceEachCallStartsClean(@TempDir Path tmp) throws Exception {
        Policy p = policy.withFilesystem(new FilesystemPolicy("/workspace", true, 64, false, "/workspace/uploads",
                "/workspace/outputs"));
        Path ws = tmp.resolve("ws");
        try (NativeSession s = NativeSession.create("t5", p, ws, new TestPolicies.Recorder())) {
            s.exec("a = 1\nopen('/workspace/scratch.txt', 'w').write('x')\nopen('/workspace/uploads/u.txt', 'w').write('u')");
            ExecResult r = s.exec("import os\nprint('a' in globals(), sorted(os.listdir('/workspace')))");
            assertEquals("False ['outputs', 'uploads']\n", r.stdout(), r.toString());
        }
        // Files outlive the session on the host (copied back from the workspace image).
        assertTrue(Files.exists(ws.resolve("uploads/u.txt")));
    }

    @Test
    void copyingTheImageBackNeverWritesThroughALink(@TempDir Path tmp) throws Exception {
        Path ws = tmp.resolve("ws");
        Path outside = tmp.resolve("outside");
        Files.createDirectories(ws);
        Files.createDirectories(outside);
        Files.createSymbolicLink(ws.resolve("d"), outside); // a link already in the host directory
        try (NativeSession s = NativeSession.create("t8", policy, ws, new TestPolicies.Recorder())) {
            ExecResult r = s.exec("""
                    import os
                    os.remove('/workspace/d')
                    os.mkdir('/workspace/d')
                    open('/workspace/d/planted.txt', 'w').write('x')
                    """);
            assertTrue(r.ok(), r.toString());
        }
        assertFalse(Files.exists(outside.resolve("planted.txt")), "the copy-back followed a link");
        assertTrue(Files.isDirectory(ws.resolve("d"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.exists(ws.resolve("d/planted.txt")));
    }

    @Test
    void preinstalledPackagesArePreloaded(@TempDir Path tmp) throws Exception {
        Policy p = policy.withEngine(Policy.EngineKind.AUTO);
        p = new Policy(null, p.engine(), p.isolation(), p.network(),
                new PackagesPolicy(new PackagesPolicy.Python(List.of("pandas", "numpy"), false, List.of(), null)),
                p.filesystem(), p.subprocess(), p.resources(), p.logging());
        assertTrue(EngineChoice.useNative(p));
        assertFalse(EngineChoice.useNative(Policy.DEFAULT));
        assertTrue(EngineChoice.useNative(Policy.DEFAULT.withEngine(Policy.EngineKind.NATIVE)));
        try (NativeSession s = NativeSession.create("t6", p, tmp.resolve("ws"), new TestPolicies.Recorder())) {
            ExecResult r = s.exec("import sys\nprint('pandas' in sys.modules)");
            assertEquals("True\n", r.stdout(), r.toString());
            assertTrue(r.blocked().isEmpty(), "the preload's own probes are not the guest's: " + r.blocked());
        }
    }

    @Test
    void theSandboxIsTheSameAsForCommands() {
        ExecResult r = session.exec("""
                import os
                print(os.getpid() < 10, len([p for p in os.listdir('/proc') if p.isdigit()]) < 10)
                print(sorted(os.listdir('/')))
                print('JAVA_HOME' in os.environ, os.environ['HOME'])
                """);
        assertEquals(ExecResult.Status.OK, r.status(), r.toString());
        String[] lines = r.stdout().split("\n");
        assertEquals("True True", lines[0]);
        assertEquals("['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'run', 'sbin', 'tmp', 'usr', 'workspace']", lines[1]);
        assertEquals("False /workspace", lines[2]);
    }

    @Test
    void refusedWhenBwrapIsMissing(@TempDir Path tmp) {
        NativeTier broken = NativeTier.get(NativeConfig.fromSystemProperties().withBwrap(tmp.resolve("nope"))
                .withStateDir(tmp.resolve("state")));
        Path ws = tmp.resolve("ws");
        NativeTierUnavailableException e = assertThrows(NativeTierUnavailableException.class,
                () -> NativeSession.create(broken, "t7", policy, ws, new TestPolicies.Recorder()));
        assertTrue(e.getMessage().contains("apt-get install -y bubblewrap"), e.getMessage());
        assertFalse(Files.exists(ws), "nothing was prepared or run");
        assertNull(broken.check().bwrapVersion());
        assertNotNull(broken.check().describe());
    }
}
