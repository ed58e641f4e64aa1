package dev.cordon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's contract: exit codes, the --json shape, policy check, init and describe. */
class CliTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void exitCodes(@TempDir Path ws) {
        assertEquals(0, Cli.run("exec", "-w", ws.toString(), "-c", "print('hi')").code());
        assertEquals(1, Cli.run("exec", "-w", ws.toString(), "-c", "1/0").code());
        assertEquals(2, Cli.run("exec", "--no-such-option").code());
        assertEquals(2, Cli.run("exec", "--policy", ws.resolve("missing.yaml").toString(), "-c", "pass").code());
        Cli.Result limit = Cli.run("exec", "-w", ws.toString(), "-c", "print('x' * (3 * 1024 * 1024))");
        assertEquals(3, limit.code(), limit.err());
    }

    @Test
    void jsonResultHasTheDocumentedShape(@TempDir Path ws) throws Exception {
        Cli.Result r = Cli.run("exec", "--json", "-w", ws.toString(), "-c",
                "print('out')\nimport sys\nprint('err', file=sys.stderr)\nopen('/workspace/outputs/o.txt','w').write('1')\nopen('/etc/passwd')");
        assertEquals(1, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        for (String field : List.of("status", "limit", "stdout", "stderr", "stdoutTruncated", "error", "blocked", "outputs",
                "engine", "session", "timing", "notices")) {
            assertTrue(j.has(field), "missing " + field + " in " + j);
        }
        assertEquals("error", j.get("status").asText());
        assertTrue(j.get("limit").isNull());
        assertEquals("out\n", j.get("stdout").asText());
        assertEquals("err\n", j.get("stderr").asText());
        assertEquals("PermissionError", j.get("error").get("type").asText());
        assertTrue(j.get("error").get("traceback").asText().contains("Traceback"), j.toString());
        JsonNode b = j.get("blocked").get(0);
        for (String field : List.of("policy", "operation", "target", "reason", "fix")) {
            assertTrue(b.hasNonNull(field), "blocked entry lacks " + field + ": " + b);
        }
        assertEquals("filesystem.workspace_only", b.get("policy").asText());
        assertEquals("/etc/passwd", b.get("target").asText());
        assertEquals("/workspace/outputs/o.txt", j.get("outputs").get(0).get("path").asText());
        assertEquals("graalpy", j.get("engine").asText());
        assertTrue(j.get("timing").has("wallMs") && j.get("timing").has("cpuMs"));
    }

    @Test
    void withoutJsonTheGuestOutputIsPassedThroughAndSummarised(@TempDir Path ws) {
        Cli.Result r = Cli.run("exec", "-w", ws.toString(), "-c", "print('plain')");
        assertEquals("plain\n", r.out());
        assertTrue(r.err().contains("cordon: ok in "), r.err());
    }

    @Test
    void scriptFromFileAndStdinAndUploads(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("s.py");
        Files.writeString(script, "print(open('/workspace/uploads/data.txt').read().strip())");
        Path data = dir.resolve("data.txt");
        Files.writeString(data, "uploaded");
        Cli.Result r = Cli.run("exec", "-w", dir.resolve("ws").toString(), "--upload", data.toString(), script.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("uploaded\n", r.out());
    }

    @Test
    void policyCheckValidAndInvalid(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("good.yaml");
        Files.writeString(good, """
                execution:
                  sandbox:
                    network:
                      policy: permissive
                """);
        Cli.Result ok = Cli.run("policy", "check", good.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("policy: permissive"), ok.out());
        assertTrue(ok.out().toLowerCase().contains("warning"), ok.out());
        // Whatever this build does not enforce yet is said, knob by knob.
        for (var n : dev.cordon.policy.PolicyReport.of(dev.cordon.policy.PolicyLoader.load(good)).notEnforced()) {
            assertTrue(ok.out().contains(n.knob().path()), ok.out());
        }
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, """
                execution:
                  sandbox:
                    network:
                      policy: sometimes
                """);
        Cli.Result err = Cli.run("policy", "check", bad.toString());
        assertEquals(2, err.code());
        assertTrue(err.err().contains(bad + ":4:"), err.err());
        assertTrue(err.err().contains("execution.sandbox.network.policy"), err.err());
    }

    @Test
    void initWritesAPresetAndDescribeDescribesIt(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("openclaw.exec.yaml");
        assertEquals(0, Cli.run("init", "--preset", "web-research", "--out", out.toString()).code());
        assertTrue(Files.readString(out).startsWith("#"), "the preset's header comment is kept");
        assertEquals(0, Cli.run("policy", "check", out.toString()).code());
        assertEquals(2, Cli.run("init", "--preset", "web-research", "--out", out.toString()).code(), "no silent overwrite");
        assertEquals(2, Cli.run("init", "--preset", "no-such-preset", "--out", dir.resolve("x.yaml").toString()).code());
        Cli.Result d = Cli.run("describe", "--policy", out.toString());
        assertEquals(0, d.code());
        assertTrue(d.out().contains("/workspace"), d.out());
        assertFalse(d.out().isBlank());
    }

    @Test
    void helpListsTheCommandsAndExitCodes() {
        Cli.Result r = Cli.run("--help");
        for (String c : List.of("exec", "serve", "policy", "init", "describe")) {
            assertTrue(r.out().contains(c), r.out());
        }
        assertTrue(r.out().replaceAll("\\s+", " ").contains("3 a limit was hit"), r.out());
    }
}
