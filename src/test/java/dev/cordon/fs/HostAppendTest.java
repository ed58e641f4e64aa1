package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host's in-workspace log writer against what a native-tier process can leave in the
 * workspace: links (on the file, on a directory of its path), a FIFO, paths that climb out.
 * Each refusal is checked by the victim's bytes, not only by the exception.
 */
class HostAppendTest {

    @TempDir
    Path dir;

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void appendsAndCreatesMissingDirectories() throws IOException {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        HostAppend.append(ws, "logs/deep/audit.jsonl", b("one\n"));
        HostAppend.append(ws, "logs/deep/audit.jsonl", b("two\n"));
        assertEquals("one\ntwo\n", Files.readString(ws.resolve("logs/deep/audit.jsonl")));
    }

    @Test
    void neverFollowsALinkOnTheFileOrOnItsDirectories() throws IOException {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path victimDir = Files.createDirectories(dir.resolve("victim"));
        Path victim = Files.writeString(victimDir.resolve("sandbox.log"), "host\n");
        Files.createSymbolicLink(ws.resolve("sandbox.log"), victim);
        assertThrows(IOException.class, () -> HostAppend.append(ws, "sandbox.log", b("x\n")));
        Files.createSymbolicLink(ws.resolve("logs"), victimDir);
        assertThrows(IOException.class, () -> HostAppend.append(ws, "logs/sandbox.log", b("x\n")));
        Files.createDirectories(ws.resolve("a"));
        Files.createSymbolicLink(ws.resolve("a/b"), Path.of("../../victim"));
        assertThrows(IOException.class, () -> HostAppend.append(ws, "a/b/sandbox.log", b("x\n")));
        assertThrows(IOException.class, () -> HostAppend.append(ws, "../victim/sandbox.log", b("x\n")));
        assertThrows(IOException.class, () -> HostAppend.append(ws, "/" + victim, b("x\n")));
        assertEquals("host\n", Files.readString(victim));
        try (var s = Files.list(victimDir)) {
            assertEquals(1, s.count(), "nothing created beside the victim");
        }
    }

    @Test
    void refusesAFifoWithoutBlocking() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Process p = new ProcessBuilder("mkfifo", ws.resolve("sandbox.log").toString()).start();
        assertEquals(0, p.waitFor());
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(IOException.class, () -> HostAppend.append(ws, "sandbox.log", b("x\n"))));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }
}
