package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Nothing guest code does ends the JVM; each case ends the call with a clear status and the next call answers. */
class HostSurvivalTest {

    static Sandbox sandbox;

    @BeforeAll
    static void start() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT.withResources(new ResourcesPolicy(256, 5, 1, 1, 10)))
                .poolSize(0).build();
    }

    @AfterAll
    static void stop() {
        sandbox.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            sys.exit(3)            | import sys; sys.exit(3)                         | error | SystemExit
            sys.exit(0)            | import sys; sys.exit(0)                         | ok    |
            SystemExit             | raise SystemExit(7)                             | error | SystemExit
            os._exit               | import os; os._exit(4)                          | error | SystemExit
            KeyboardInterrupt      | raise KeyboardInterrupt()                       | error | KeyboardInterrupt
            kill self              | import os, signal; os.kill(os.getpid(), signal.SIGKILL) | error |
            kill parent            | import os, signal; os.kill(os.getppid(), signal.SIGTERM) | ok    |
            close stdout           | import sys; sys.stdout.close()                  | ok    |
            recursion bomb         | def f(n): return f(n + 1)\\nf(0)                 | error | RecursionError
            thread left running    | import threading, time\\nthreading.Thread(target=lambda: time.sleep(30), daemon=True).start() | ok |
            """)
    void hostSurvives(String label, String code, String status, String type) {
        Session s = sandbox.openSession("survive-" + label.replaceAll("[^A-Za-z0-9]", "-"));
        ExecResult r = s.exec(code.replace("\\n", "\n"));
        assertEquals(status, r.status().json(), r::toString);
        if (type != null) {
            assertNotNull(r.error(), r::toString);
            assertEquals(type, r.error().type(), r::toString);
        }
        assertFalse(r.stdout().contains("at org.graalvm"), "no Java stack trace for the guest: " + r.stdout());
        assertFalse(r.stderr().contains("at org.graalvm"), "no Java stack trace for the guest: " + r.stderr());
        ExecResult next = s.exec("print('still here')");
        assertEquals(ExecResult.Status.OK, next.status(), next::toString);
        assertTrue(next.stdout().contains("still here"), next::toString);
        s.close();
    }
}
