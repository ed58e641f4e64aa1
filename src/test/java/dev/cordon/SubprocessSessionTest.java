package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.PolicyLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Subprocesses from the in-JVM tier, end to end through a session: allowed commands run in the
 * native sandbox and see the workspace; the usual Python idioms work (capture_output, check_output,
 * communicate, timeouts); refusals are PermissionErrors that say how to allow the command.
 */
class SubprocessSessionTest {

    static Sandbox sandbox;
    static Path canary;

    @BeforeAll
    static void start() throws Exception {
        canary = Files.createTempFile(OutsideDirs.root(), "canary", ".txt");
        Files.writeString(canary, "CANARY-subprocess-51d2");
        sandbox = Sandbox.builder().poolSize(0).policy(PolicyLoader.parse("""
                execution:
                  engine: graalpy
                  sandbox:
                    filesystem: {persist_across_calls: true}
                    subprocess:
                      allow: true
                      allowed_commands: [echo, cat, python3, wc]
                      max_runtime_seconds: 5
                    resources: {max_processes: 4}
                """, "subprocess-policy")).build();
    }

    @AfterAll
    static void stop() {
        sandbox.close();
    }

    @Test
    void allowedCommandsRunInTheSandboxWithTheUsualIdioms() throws Exception {
        Session s = sandbox.openSession("procs");
        s.upload("data.csv", "a,b\n1,2\n3,4\n".getBytes());
        ExecResult r = s.exec("""
                import subprocess
                r = subprocess.run(['wc', '-l', '/workspace/uploads/data.csv'], capture_output=True, text=True)
                print('wc:', r.returncode, r.stdout.split()[0], repr(r.stderr))
                print('check_output:', subprocess.check_output(['echo', 'hello']).decode().strip())
                p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                print('communicate:', p.communicate('piped')[0])
                r = subprocess.run(['python3', '-c', 'open("/workspace/from-child.txt", "w").write("child")'])
                print('child exit:', r.returncode)
                try:
                    subprocess.run(['python3', '-c', 'import time; time.sleep(60)'], timeout=1)
                except subprocess.TimeoutExpired:
                    print('timeout: killed')
                """);
        assertEquals(ExecResult.Status.OK, r.status(), r::toString);
        assertTrue(r.stdout().contains("wc: 0 3 ''"), r.stdout());
        assertTrue(r.stdout().contains("check_output: hello"), r.stdout());
        assertTrue(r.stdout().contains("communicate: piped"), r.stdout());
        assertTrue(r.stdout().contains("child exit: 0"), r.stdout());
        assertTrue(r.stdout().contains("timeout: killed"), r.stdout());
        assertEquals("child", Files.readString(s.workspace().resolve("from-child.txt")));
        // The GraalPy side sees what the child wrote, in the same workspace.
        assertEquals("child\n", s.exec("print(open('/workspace/from-child.txt').read())").stdout());
    }

    @Test
    void refusalsSayWhichRuleAndHowToAllowIt() {
        Session s = sandbox.openSession("refused");
        ExecResult r = s.exec("""
                import subprocess, os
                for argv in (['wget', 'http://example.com'], ['sh', '-c', 'echo hi'], ['./python3']):
                    try:
                        subprocess.run(argv)
                        print(argv[0], 'ran')
                    except (PermissionError, FileNotFoundError) as e:
                        print(argv[0], type(e).__name__, e)
                """);
        assertEquals(ExecResult.Status.OK, r.status(), r::toString);
        assertTrue(r.stdout().contains("wget PermissionError [Errno 13] Cordon blocked subprocess exec wget"), r.stdout());
        assertTrue(r.stdout().contains("add \"wget\" to execution.sandbox.subprocess.allowed_commands"), r.stdout());
        assertTrue(r.stdout().contains("sh PermissionError"), r.stdout());
        assertFalse(r.stdout().contains(" ran"), r.stdout());
        assertTrue(r.blocked().stream().anyMatch(b -> b.target().equals("wget")
                && b.policy().equals("subprocess.allowed_commands")), r::toString);
    }

    @Test
    void aChildCannotReadOutsideTheWorkspace() {
        Session s = sandbox.openSession("canary");
        ExecResult r = s.exec("""
                import subprocess
                r = subprocess.run(['cat', %s], capture_output=True, text=True)
                print('cat exit', r.returncode, r.stdout, r.stderr)
                """.formatted(SessionWorkspaceTest.pyString(canary.toString())));
        assertFalse(r.stdout().contains("CANARY-subprocess-51d2"), r.stdout());
        assertFalse(r.stderr().contains("CANARY-subprocess-51d2"), r.stderr());
        assertTrue(r.stdout().contains("cat exit 1"), r.stdout());
    }
}
