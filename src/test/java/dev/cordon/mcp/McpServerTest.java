package dev.cordon.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.examples.Cli;
import dev.cordon.policy.PolicyDescriber;
import dev.cordon.policy.PolicyLoader;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cordon mcp} end to end: the server runs as its own process, spawned and driven over stdio
 * by the MCP SDK's own client, exactly as an agent host would.
 */
class McpServerTest {

    static final String POLICY = """
            execution:
              sandbox:
                filesystem:
                  persist_across_calls: true
                resources:
                  max_wall_seconds: 4
            """;

    @TempDir
    static Path dir;
    static Path workspaces;
    static Path policyFile;
    static McpSyncClient client;
    static final List<String> stderr = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        // The SDK client logs each step at INFO through SLF4J; warnings are enough in test output.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        policyFile = dir.resolve("policy.yaml");
        Files.writeString(policyFile, POLICY);
        workspaces = dir.resolve("ws");
        List<String> cmd = Cli.command("mcp", "--policy", policyFile.toString(), "--workspace-root", workspaces.toString());
        ServerParameters params = ServerParameters.builder(cmd.get(0)).args(cmd.subList(1, cmd.size())).build();
        StdioClientTransport transport = new StdioClientTransport(params, new JacksonMcpJsonMapper(new ObjectMapper()));
        transport.setStdErrorHandler(stderr::add);
        client = McpClient.sync(transport)
                .requestTimeout(Duration.ofSeconds(180))
                .initializationTimeout(Duration.ofSeconds(180))
                .build();
        client.initialize();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.closeGracefully();
        }
    }

    static McpSchema.CallToolResult run(String session, String code) {
        Map<String, Object> args = session == null ? Map.of("code", code) : Map.of("code", code, "session", session);
        return client.callTool(McpSchema.CallToolRequest.builder(CordonMcpServer.TOOL_NAME).arguments(args).build());
    }

    static String text(McpSchema.CallToolResult r) {
        StringBuilder b = new StringBuilder();
        for (McpSchema.Content c : r.content()) {
            b.append(((McpSchema.TextContent) c).text());
        }
        return b.toString();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> structured(McpSchema.CallToolResult r) {
        return (Map<String, Object>) r.structuredContent();
    }

    @Test
    void listsOneToolDescribedByThePolicy() throws Exception {
        List<McpSchema.Tool> tools = client.listTools().tools();
        assertEquals(1, tools.size());
        McpSchema.Tool t = tools.get(0);
        assertEquals("run_python", t.name());
        String describe = PolicyDescriber.describe(PolicyLoader.load(policyFile));
        assertTrue(t.description().endsWith(describe), t.description());
        // The policy of this server persists state; the default's "each call starts fresh" must not show.
        assertTrue(t.description().contains("persist across calls"), t.description());
        assertFalse(t.description().contains("Each call starts fresh"), t.description());
        assertEquals(List.of("code"), t.inputSchema().get("required"));
        assertEquals(false, t.annotations().openWorldHint(), "network is denied by this policy");
        assertEquals("cordon", client.getServerInfo().name());
    }

    @Test
    void sessionsKeepStatePerNameAndAreIsolated() {
        McpSchema.CallToolResult set = run("s1", "x = 6 * 7");
        assertFalse(set.isError(), text(set));
        McpSchema.CallToolResult get = run("s1", "print(x)");
        assertFalse(get.isError(), text(get));
        assertEquals("42\n", text(get));
        assertEquals("ok", structured(get).get("status"));
        assertEquals("s1", structured(get).get("session"));

        McpSchema.CallToolResult other = run("s2", "print(x)");
        assertTrue(other.isError(), "another session has its own globals");
        assertTrue(text(other).contains("NameError"), text(other));
    }

    @Test
    void blockedOperationComesBackExplainedWithItsFix() throws Exception {
        String hostSecret = Files.readString(Path.of("/etc/passwd"));
        McpSchema.CallToolResult r = run("s3", "print(open('/etc/passwd').read())");
        assertTrue(r.isError());
        String t = text(r);
        assertTrue(t.contains("[blocked] filesystem.read /etc/passwd (policy rule filesystem.workspace_only)"), t);
        assertTrue(t.contains("Fix: "), t);
        assertTrue(t.contains("PermissionError"), t);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> blocked = (List<Map<String, Object>>) structured(r).get("blocked");
        assertEquals(1, blocked.size());
        assertEquals("filesystem.workspace_only", blocked.get(0).get("policy"));
        assertFalse(((String) blocked.get(0).get("fix")).isBlank());
        // From outside: none of the file's content reached the client.
        String firstLine = hostSecret.lines().findFirst().orElseThrow();
        assertFalse(t.contains(firstLine), "host file content leaked");
        assertFalse(String.valueOf(r.structuredContent()).contains(firstLine), "host file content leaked");
    }

    @Test
    void outputsAreListedAndLandInTheSessionWorkspace() throws Exception {
        McpSchema.CallToolResult r = run("s4", """
                import os
                os.makedirs('/workspace/outputs', exist_ok=True)
                with open('/workspace/outputs/report.txt', 'w') as f:
                    f.write('total=99')
                print('written')
                """);
        assertFalse(r.isError(), text(r));
        assertTrue(text(r).contains("[outputs] /workspace/outputs/report.txt (8 bytes)"), text(r));
        assertEquals("total=99", Files.readString(workspaces.resolve("s4/outputs/report.txt")));
    }

    @Test
    void aLimitIsAToolResultAndTheServerGoesOn() {
        McpSchema.CallToolResult r = run("s5", "while True:\n    pass");
        assertTrue(r.isError());
        assertEquals("limit", structured(r).get("status"));
        assertEquals("wall", structured(r).get("limit"));
        assertTrue(text(r).contains("[limit: wall]"), text(r));
        assertTrue(text(r).contains("max_wall_seconds"), text(r));
        McpSchema.CallToolResult after = run("s5", "print('still here')");
        assertFalse(after.isError(), text(after));
        assertEquals("still here\n", text(after));
    }

    @Test
    void badArgumentsAreToolErrorsNotCrashes() {
        McpSchema.CallToolResult badName = run("../escape", "print(1)");
        assertTrue(badName.isError());
        McpSchema.CallToolResult noCode = client.callTool(McpSchema.CallToolRequest.builder(CordonMcpServer.TOOL_NAME).arguments(Map.of()).build());
        assertTrue(noCode.isError());
        assertFalse(Files.exists(dir.resolve("escape")), "no workspace outside the root");
        McpSchema.CallToolResult ok = run(null, "print('default session')");
        assertFalse(ok.isError(), text(ok));
        assertEquals("default", structured(ok).get("session"));
    }

    @Test
    void guestWritesToFileDescriptorOneStayInTheResult() {
        // The guest's fd 1 is the call's captured stdout, never the server's protocol stream; were it
        // otherwise the client would have failed to parse the stream and this call would time out.
        McpSchema.CallToolResult r = run("s6", "import os, sys\nos.write(1, b'raw-fd-1\\n')\nsys.__stdout__.write('dunder\\n')\nprint('printed')");
        assertFalse(r.isError(), text(r));
        String out = (String) structured(r).get("stdout");
        assertTrue(out.contains("raw-fd-1") && out.contains("dunder") && out.contains("printed"), out);
    }

    @Test
    void logsGoToStderr() throws Exception {
        run("s7", "print(1)");
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline
                && stderr.stream().noneMatch(l -> l.startsWith("cordon: pool warm:"))) {
            Thread.sleep(100);
        }
        assertTrue(stderr.stream().anyMatch(l -> l.startsWith("cordon: MCP server on stdio")), String.join("\n", stderr));
        assertTrue(stderr.stream().anyMatch(l -> l.startsWith("cordon: pool warm: 1 interpreter(s) ready")), String.join("\n", stderr));
        deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline && stderr.stream().noneMatch(l -> l.startsWith("cordon: mcp [s7] ok "))) {
            Thread.sleep(50);
        }
        assertTrue(stderr.stream().anyMatch(l -> l.startsWith("cordon: mcp [s7] ok ")), String.join("\n", stderr));
    }
}
