package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.Policy;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Under the default policy no process starts, by any Python path, and each refusal is catchable and explained. */
class DeniedProcessTest {

    static Sandbox sandbox;

    @BeforeAll
    static void start() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT).poolSize(0).build();
    }

    @AfterAll
    static void stop() {
        sandbox.close();
    }

    @Test
    void noProcessStartsAndEachRefusalIsExplained() throws Exception {
        Session s = sandbox.openSession("procs");
        ExecResult r = s.exec("""
                import os, subprocess
                results = []
                for name, attempt in [
                        ('subprocess.run', lambda: subprocess.run(['touch', '/workspace/marker-run'])),
                        ('os.system', lambda: os.system('touch /workspace/marker-system')),
                        ('os.popen', lambda: os.popen('touch /workspace/marker-popen').read()),
                        ('Popen shell', lambda: subprocess.Popen('touch /workspace/marker-shell', shell=True).wait())]:
                    try:
                        rc = attempt()
                        results.append(f'{name}: returned {rc!r}')
                    except PermissionError as e:
                        results.append(f'{name}: PermissionError {e}')
                print('\\n'.join(results))
                """);
        assertEquals(ExecResult.Status.OK, r.status(), r::toString);
        for (String marker : new String[] {"marker-run", "marker-system", "marker-popen", "marker-shell"}) {
            assertFalse(Files.exists(s.workspace().resolve(marker)), marker + " must not exist: " + r.stdout());
        }
        assertTrue(r.stdout().contains("subprocess.run: PermissionError [Errno 13] Cordon blocked subprocess exec touch"),
                r.stdout());
        assertTrue(r.stdout().contains("(policy rule subprocess.allow). To allow it:"), r.stdout());
        assertTrue(r.stdout().contains("os.popen: PermissionError"), r.stdout());
        // One event per attempt, although GraalPy asks the gate once per PATH entry.
        assertEquals(4, r.blocked().size(), r::toString);
        for (ExecResult.Blocked b : r.blocked()) {
            assertEquals("subprocess.allow", b.policy(), r::toString);
            assertTrue(b.fix().contains("allowed_commands"), b.fix());
        }
        assertEquals("still here\n", s.exec("print('still here')").stdout());
    }
}
