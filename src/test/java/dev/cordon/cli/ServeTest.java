package dev.cordon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `cordon serve` as a real child process: the protocol, bad input, concurrency, and every way guest
 * code tries to end the host, each followed by a call that must answer.
 */
class ServeTest {

    @TempDir
    static Path dir;
    static ServeClient serve;

    @BeforeAll
    static void start() throws Exception {
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, """
                execution:
                  sandbox:
                    filesystem: {persist_across_calls: true}
                    resources: {max_cpu_seconds: 5, max_wall_seconds: 4, max_output_size_mb: 1}
                """);
        serve = new ServeClient(dir, "--policy", policy.toString(), "--workspace-root", dir.resolve("ws").toString(),
                "--pool", "1");
    }

    @AfterAll
    static void stop() throws Exception {
        serve.close();
        assertEquals(0, serve.process.exitValue(), "serve exits 0 at end of input");
    }

    @Test
    void stateIdsAndWorkspacePerSession() throws Exception {
        JsonNode r = serve.call(1, "alpha", "x = 20\nopen('/workspace/f.txt','w').write('alpha')", 60);
        assertEquals(1, r.get("id").asInt());
        assertEquals("ok", r.get("status").asText(), r.toString());
        assertEquals("alpha", r.get("session").asText());
        r = serve.call("two", "alpha", "print(x + 1)", 60);
        assertEquals("two", r.get("id").asText());
        assertEquals("21\n", r.get("stdout").asText(), r.toString());
        r = serve.call(3, "beta", "print('x' in globals())", 60);
        assertEquals("False\n", r.get("stdout").asText(), "sessions do not share globals: " + r);
        assertEquals("alpha", Files.readString(dir.resolve("ws/alpha/f.txt")));
        assertFalse(Files.exists(dir.resolve("ws/beta/f.txt")));
        serve.sendRaw("{\"id\": 4, \"op\": \"close\", \"session\": \"beta\"}");
        r = serve.next(30);
        assertEquals(4, r.get("id").asInt());
        assertTrue(r.get("closed").asBoolean(), r.toString());
    }

    @Test
    void malformedLinesGetErrorsAndTheLoopGoesOn() throws Exception {
        for (String bad : new String[] {"this is not json", "[1, 2]", "{\"id\": 7, \"session\": \"../x\", \"code\": \"1\"}",
                "{\"id\": 8, \"session\": \"ok\"}", "{\"id\": 9, \"op\": \"explode\", \"session\": \"ok\"}"}) {
            serve.sendRaw(bad);
            JsonNode r = serve.next(30);
            assertEquals("error", r.get("status").asText(), bad + " -> " + r);
            assertEquals("BadRequest", r.get("error").get("type").asText(), r.toString());
        }
        JsonNode r = serve.call(10, "ok", "print('still serving')", 60);
        assertEquals("still serving\n", r.get("stdout").asText(), r.toString());
    }

    @Test
    void differentSessionsRunConcurrently() throws Exception {
        serve.call(0, "slow", "pass", 60);
        serve.call(0, "fast", "pass", 60);
        serve.exec("slow-1", "slow", "import time\ntime.sleep(2)\nprint('slow')");
        serve.exec("fast-1", "fast", "print('fast')");
        JsonNode first = serve.next(60);
        JsonNode second = serve.next(60);
        assertEquals("fast-1", first.get("id").asText(), "the fast session answered first");
        assertEquals("slow-1", second.get("id").asText());
        assertEquals("slow\n", second.get("stdout").asText());
    }

    @Test
    void hostSurvivesWhateverGuestCodeDoes() throws Exception {
        String[][] cases = {
                {"import sys; sys.exit(3)", "error"},
                {"raise SystemExit(0)", "ok"},
                {"import os; os._exit(4)", "error"},
                {"raise KeyboardInterrupt()", "error"},
                {"import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "error"},
                {"import os, signal; os.kill(os.getppid(), signal.SIGTERM)", "ok"},
                {"import sys; sys.stdout.close()", "ok"},
                {"def f(n): return f(n + 1)\nf(0)", "error"},
                {"import threading, time\nthreading.Thread(target=lambda: time.sleep(60), daemon=True).start()", "ok"},
                {"while True: pass", "limit"},
                {"x = []\nwhile True: x.append(bytearray(1 << 20))", "limit"},
                {"while True: print('flood' * 100)", "limit"},
                // A builtin that does not stop when interrupted: the context is retired, serve goes on.
                {"sum(range(10**15))", "limit"},
        };
        int id = 100;
        for (String[] c : cases) {
            JsonNode r = serve.call(id, "survivor", c[0], 120);
            assertEquals(id, r.get("id").asInt());
            assertEquals(c[1], r.get("status").asText(), c[0] + " -> " + r);
            assertFalse(r.get("stdout").asText().contains("at org.graalvm"), r.toString());
            JsonNode next = serve.call(id + 1, "survivor", "print('alive')", 120);
            assertEquals("alive\n", next.get("stdout").asText(), "after " + c[0] + ": " + next);
            assertTrue(serve.process.isAlive());
            id += 2;
        }
    }

    @Test
    void processEndsCleanlyOnEndOfInput(@TempDir Path other) throws Exception {
        ServeClient s = new ServeClient(other, "--pool", "0", "--workspace-root", other.resolve("ws").toString());
        s.exec(1, "a", "print('bye')");
        s.close();
        assertTrue(s.process.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, s.process.exitValue());
        JsonNode r = s.next(5);
        assertEquals("bye\n", r.get("stdout").asText(), "the accepted call answered before exit");
    }
}
