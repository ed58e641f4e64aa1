package dev.cordon.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the Python client's own test suite (examples/python-client/test_cordon_client.py) under
 * Debian's CPython: Python spawns {@code cordon serve} from this build (CORDON_COMMAND) and talks
 * JSON lines to it, as a user's LangChain program would.
 */
class PythonClientTest {

    static final String PYTHON = "/usr/bin/python3";

    @Test
    void clientSuitePassesUnderDebianCPython(@TempDir Path dir) throws Exception {
        assertTrue(Files.isExecutable(Path.of(PYTHON)), PYTHON + " (Debian's python3) is needed: apt-get install -y python3");
        Path log = dir.resolve("python.log");
        ProcessBuilder pb = new ProcessBuilder(PYTHON, "-W", "error::ResourceWarning", "-m", "unittest", "-v", "test_cordon_client")
                .directory(Cli.repo().resolve("examples/python-client").toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.environment().put("CORDON_COMMAND", Cli.shellQuoted(Cli.command()));
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p = pb.start();
        boolean done = p.waitFor(10, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String out = Files.readString(log);
        assertTrue(done, "timed out:\n" + out);
        assertEquals(0, p.exitValue(), out);
        Matcher ran = Pattern.compile("(?m)^Ran (\\d+) tests? in").matcher(out);
        assertTrue(ran.find(), out);
        assertTrue(Integer.parseInt(ran.group(1)) >= 13, "the whole suite ran:\n" + out);
        assertTrue(out.strip().endsWith("OK"), out);
    }
}
