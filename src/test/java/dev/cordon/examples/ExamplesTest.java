package dev.cordon.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Presets;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The examples the README points at still run and do what it says. */
class ExamplesTest {

    static final Path REPO = Path.of(System.getProperty("cordon.repo", ".")).toAbsolutePath();

    @Test
    void cliQuickStartExample(@TempDir Path ws) throws Exception {
        try (Sandbox sandbox = Sandbox.builder().policy(Presets.load("default")).poolSize(0).build();
             Session s = sandbox.openSession("example", ws)) {
            s.upload(REPO.resolve("examples/cli/sales.csv"));
            ExecResult r = s.exec(Files.readString(REPO.resolve("examples/cli/analyze.py")));
            assertEquals(ExecResult.Status.OK, r.status(), r::toString);
            assertTrue(r.stdout().startsWith("east     108.00\n"), r.stdout());
            assertTrue(r.stdout().contains("blocked as expected: [Errno 13] Cordon blocked filesystem read /etc/hostname"),
                    r.stdout());
            assertEquals("filesystem.workspace_only", r.blocked().get(0).policy());
            String revenue = Files.readString(ws.resolve("outputs/revenue.json"));
            assertTrue(revenue.contains("\"east\": 108.0"), revenue);
        }
    }

    @Test
    void javaApiExample() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "-XX:+EnableDynamicAgentLoading",
                "-Djdk.attach.allowAttachSelf=true", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                REPO.resolve("examples/java-api/HelloSandbox.java").toString()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("status=ok stdout=50"), out);
        assertTrue(out.contains("denied: PermissionError"), out);
        assertTrue(out.contains("blocked: filesystem.workspace_only"), out);
    }
}
