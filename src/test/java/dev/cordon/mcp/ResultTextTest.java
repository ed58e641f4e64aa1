package dev.cordon.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.ExecResult;
import dev.cordon.ExecResult.Blocked;
import dev.cordon.ExecResult.Output;
import dev.cordon.ExecResult.Status;
import dev.cordon.Sandbox;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The text a model reads back, and the in-process handler's answer when the host itself fails. */
class ResultTextTest {

    static ExecResult result(Status s, ExecResult.Limit limit, String out, String err, ExecResult.Error e,
            List<Blocked> blocked, List<Output> outputs, List<String> notices) {
        return new ExecResult(s, limit, out, err, false, e, blocked, outputs, "graalpy", "t",
                new ExecResult.Timing(1, 1), notices);
    }

    @Test
    void plainOutputIsJustTheOutput() {
        assertEquals("hello\n", ResultText.of(result(Status.OK, null, "hello\n", "", null, List.of(), List.of(), List.of())));
    }

    @Test
    void nothingPrintedSaysSo() {
        assertEquals(ResultText.NO_OUTPUT, ResultText.of(result(Status.OK, null, "", "", null, List.of(), List.of(), List.of())));
    }

    @Test
    void everySectionInOrder() {
        ExecResult r = result(Status.ERROR, null, "partial", "warn\n",
                new ExecResult.Error("PermissionError", "[Errno 13] Cordon blocked ...",
                        "Traceback (most recent call last):\n  ...\nPermissionError: [Errno 13] Cordon blocked ...\n"),
                List.of(new Blocked("filesystem.workspace_only", "filesystem.write", "/etc/x", "outside", "write in /workspace")),
                List.of(new Output("/workspace/outputs/a.png", 10), new Output("/workspace/outputs/b.csv", 3)),
                List.of("policy reloaded"));
        assertEquals("""
                partial
                [stderr] warn
                [error] Traceback (most recent call last):
                  ...
                PermissionError: [Errno 13] Cordon blocked ...
                [blocked] filesystem.write /etc/x (policy rule filesystem.workspace_only): outside. Fix: write in /workspace
                [outputs] /workspace/outputs/a.png (10 bytes), /workspace/outputs/b.csv (3 bytes)
                [notice] policy reloaded""", ResultText.of(r));
    }

    @Test
    void limitsAndCordonStatusesWithoutTraceback() {
        ExecResult r = result(Status.LIMIT, ExecResult.Limit.CPU, "", "",
                new ExecResult.Error("LimitExceeded", "CPU time limit of 30 s exceeded (resources.max_cpu_seconds)", null),
                List.of(), List.of(), List.of());
        assertEquals("[limit: cpu] LimitExceeded: CPU time limit of 30 s exceeded (resources.max_cpu_seconds)", ResultText.of(r));
    }

    @Test
    void hostFailureIsAToolErrorNotAnException(@TempDir Path root) {
        Sandbox sandbox = Sandbox.builder().workspaceRoot(root).poolSize(0).build();
        CordonMcpServer server = new CordonMcpServer(sandbox, null, false);
        sandbox.close(); // its interpreter pool is gone: every call now fails on the host side
        McpSchema.CallToolResult r = server.call(Map.of("code", "print(1)"));
        assertTrue(r.isError());
        String text = ((McpSchema.TextContent) r.content().get(0)).text();
        assertTrue(text.startsWith("[error] EngineError: the sandbox could not run the call"), text);
    }

    @Test
    void argumentsAreCheckedBeforeAnythingRuns(@TempDir Path root) {
        try (Sandbox sandbox = Sandbox.builder().workspaceRoot(root).poolSize(0).build()) {
            CordonMcpServer server = new CordonMcpServer(sandbox, null, false);
            for (Map<String, Object> args : List.<Map<String, Object>>of(Map.of(), Map.of("code", 42),
                    Map.of("code", "1", "session", "a/b"), Map.of("code", "1", "session", 7))) {
                McpSchema.CallToolResult r = server.call(args);
                assertTrue(r.isError(), args.toString());
                assertTrue(((McpSchema.TextContent) r.content().get(0)).text().startsWith("[error] invalid arguments"));
            }
            assertEquals(null, sandbox.session("a"), "no session was opened");
        }
    }
}
