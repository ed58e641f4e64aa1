package dev.cordon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dev-mode hot reload through `serve --dev --reload-on-change`: good edits apply, bad ones keep the last good policy. */
class DevReloadTest {

    static void write(Path policy, String yaml, int bump) throws Exception {
        Files.writeString(policy, yaml);
        // A distinct mtime even on filesystems with coarse timestamps.
        Files.setLastModifiedTime(policy, FileTime.from(Instant.now().plusSeconds(bump)));
    }

    @Test
    void editsApplyOnTheNextCallAndBadEditsKeepTheLastGoodPolicy(@TempDir Path dir) throws Exception {
        Path policy = dir.resolve("openclaw.exec.yaml");
        write(policy, """
                execution:
                  sandbox:
                    filesystem: {persist_across_calls: true}
                """, 0);
        try (ServeClient serve = new ServeClient(dir, "--dev", "--reload-on-change", "--policy", policy.toString(),
                "--workspace-root", dir.resolve("ws").toString(), "--pool", "0")) {
            JsonNode r = serve.call(1, "s", "x = 1\nopen('/workspace/a.txt', 'w').write('a')", 60);
            assertEquals("ok", r.get("status").asText(), r.toString());

            write(policy, """
                    execution:
                      sandbox:
                        filesystem: {persist_across_calls: true, writable: false}
                    """, 10);
            r = serve.call(2, "s", "print(x)\nopen('/workspace/b.txt', 'w').write('b')", 60);
            assertEquals("1\n", r.get("stdout").asText(), "globals survive a reload that keeps the interpreter: " + r);
            assertEquals("PermissionError", r.get("error").get("type").asText(), r.toString());
            assertEquals("filesystem.writable", r.get("blocked").get(0).get("policy").asText(), r.toString());
            assertTrue(r.get("notices").toString().contains("reloaded"), r.toString());
            assertTrue(Files.notExists(dir.resolve("ws/s/b.txt")));

            write(policy, "execution:\n  sandbox:\n    network:\n      policy: sometimes\n", 20);
            r = serve.call(3, "s", "open('/workspace/c.txt', 'w').write('c')", 60);
            assertTrue(r.get("notices").toString().contains("keeping the last good policy"), r.toString());
            assertTrue(r.get("notices").toString().contains("sometimes"), "the notice says why: " + r);
            assertEquals("PermissionError", r.get("error").get("type").asText(), "still read-only: " + r);
            assertTrue(Files.notExists(dir.resolve("ws/s/c.txt")));

            Files.delete(policy);
            r = serve.call(4, "s", "print('served')", 60);
            assertEquals("served\n", r.get("stdout").asText(), r.toString());
            assertTrue(r.get("notices").toString().contains("gone"), r.toString());
        }
    }
}
