package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.CordonAgent;
import dev.cordon.policy.Policy;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.io.IOAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wiring the session uses: a GraalPy context whose ProcessHandler is the native gate. What
 * guest code sees (PermissionError with Cordon's message, outputs of allowed commands) and what
 * the host sees (audit, files absent).
 */
class GraalPyProcessGateTest {

    @Test
    void subprocessOsSystemAndPopenGoThroughTheGate(@TempDir Path tmp) throws Exception {
        CordonAgent.ensureInstalled();
        Path ws = tmp.resolve("ws");
        Files.createDirectories(ws);
        Files.writeString(ws.resolve("data.csv"), "a,b\n1,2\n");
        // A workspace file named like an allowed command, executable: still not that command.
        Files.writeString(ws.resolve("head"), "#!/bin/sh\ntouch /workspace/fake-head-ran\n");
        ws.resolve("head").toFile().setExecutable(true);
        Policy policy = TestPolicies.commands(List.of("python", "head"), List.of("rm"));
        TestPolicies.Recorder audit = new TestPolicies.Recorder();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream inherited = new ByteArrayOutputStream();
        try (NativeWorkspace nws = NativeWorkspace.open(NativeTier.get(), policy.filesystem(), ws);
             NativeProcessHandler gate = new NativeProcessHandler(policy, nws, audit, () -> inherited, () -> inherited);
             Context ctx = Context.newBuilder("python")
                     .allowIO(IOAccess.newBuilder().allowHostFileAccess(true).build())
                     .allowCreateProcess(true)
                     // As in a session: the gate runs inside a permit (the JUnit thread may be a marked guest thread).
                     .processHandler(dev.cordon.agent.GatePermit.processHandler(gate))
                     .currentWorkingDirectory(ws)
                     .environment("PATH", "/usr/local/bin:/usr/bin:/bin")
                     .option("python.PosixModuleBackend", "java")
                     .option("engine.WarnInterpreterOnly", "false")
                     .out(out).err(out)
                     .build()) {
            ctx.eval("python", """
                    import subprocess, os
                    r = subprocess.run(['head', '-n', '1', 'data.csv'], stdout=subprocess.PIPE, text=True)
                    print('head:', r.returncode, r.stdout.strip())
                    r = subprocess.run(['python3', '-c', 'import os; print(os.getcwd(), os.path.exists("/workspace/data.csv"))'],
                                       stdout=subprocess.PIPE, text=True)
                    print('python3:', r.stdout.strip())
                    for argv in (['wget', 'http://example.com'], ['rm', 'data.csv'], ['./head', 'data.csv']):
                        try:
                            subprocess.run(argv)
                            print('ran', argv[0])
                        except PermissionError as e:
                            print('PermissionError', argv[0], e.errno, str(e))
                    print('system:', os.system('touch /workspace/system-ran'))
                    try:
                        os.popen('touch /workspace/popen-ran').read()
                    except PermissionError as e:
                        print('popen PermissionError', str(e))
                    """);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("head: 0 a,b"), text);
        assertTrue(text.contains("python3: /workspace True"), text);
        // CPython's subprocess replaces the child's error text with strerror(errno): the guest sees
        // PermissionError [Errno 13]; Cordon's full message is in the audit (and in os.popen's error).
        assertTrue(text.contains("PermissionError wget 13 "), text);
        assertTrue(text.contains("PermissionError rm 13 "), text);
        assertTrue(text.contains("PermissionError ./head 13 "), text);
        assertFalse(text.contains("ran "), text);
        assertTrue(Files.exists(ws.resolve("data.csv")));
        assertFalse(Files.exists(ws.resolve("system-ran")));
        assertFalse(Files.exists(ws.resolve("fake-head-ran")));
        assertFalse(Files.exists(ws.resolve("popen-ran")));
        List<String> lines = audit.lines();
        assertTrue(lines.contains("[BLOCKED] subprocess=wget policy=subprocess.allowed_commands"), lines.toString());
        assertTrue(lines.contains("[BLOCKED] subprocess=rm policy=subprocess.blocked_commands"), lines.toString());
        assertTrue(lines.contains("[BLOCKED] subprocess=sh policy=subprocess.allowed_commands"), lines.toString());
        assertEquals(1, lines.stream().filter(l -> l.contains("subprocess=wget")).count(), "one event per denial: " + lines);
    }
}
