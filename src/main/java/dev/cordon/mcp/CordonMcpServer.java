package dev.cordon.mcp;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.NetworkPolicy;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Cordon as a Model Context Protocol server: one tool, {@value #TOOL_NAME}, whose description is
 * the policy's agent-facing text ({@link Sandbox#describe()}), so the model learns its constraints
 * before its first call.
 *
 * <p>Every call answers with a tool result, never a protocol error: guest exceptions, limits and
 * denials come back as {@code isError} results whose text explains them (each blocked operation
 * with its rule and fix, see {@link ResultText}); the full {@link ExecResult} is in
 * {@code structuredContent} (the {@code exec --json} schema). Calls with the same {@code session}
 * name share a {@link Session} (interpreter and workspace) for the life of the server.
 *
 * <p>Use {@link #serveStdio} for a stdio server ({@code cordon mcp}), or add
 * {@link #toolSpecification()} to an MCP server of your own on any transport.
 */
public final class CordonMcpServer {

    public static final String TOOL_NAME = "run_python";
    /** The session of calls that name none. */
    public static final String DEFAULT_SESSION = "default";

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() { };

    private final Sandbox sandbox;
    private final PrintStream log;
    private final boolean perCallLog;
    private final McpSchema.Tool tool;

    /**
     * @param sandbox    where the code runs; its policy's describe text becomes the tool description
     * @param log        where one summary line per call goes (stderr in the CLI), or null for none
     * @param perCallLog whether to write those per-call lines
     */
    public CordonMcpServer(Sandbox sandbox, PrintStream log, boolean perCallLog) {
        this.sandbox = Objects.requireNonNull(sandbox, "sandbox");
        this.log = log;
        this.perCallLog = perCallLog && log != null;
        this.tool = buildTool(sandbox);
    }

    /** The {@value #TOOL_NAME} tool: its description, input schema and hints. */
    public McpSchema.Tool tool() {
        return tool;
    }

    /** The tool with its handler, to add to any MCP server ({@code McpServer.sync(...).tools(...)}). */
    public McpServerFeatures.SyncToolSpecification toolSpecification() {
        return McpServerFeatures.SyncToolSpecification.builder()
                .tool(tool)
                .callHandler((exchange, request) -> call(request.arguments()))
                .build();
    }

    /**
     * Runs one tool call. Never throws: a bad argument or a host-side failure is an {@code isError}
     * result that says what went wrong, so a misbehaving call cannot take the server down.
     */
    public McpSchema.CallToolResult call(Map<String, Object> arguments) {
        Map<String, Object> args = arguments == null ? Map.of() : arguments;
        if (!(args.get("code") instanceof String code)) {
            return usage("\"code\" (a string of Python source) is required");
        }
        Object s = args.getOrDefault("session", DEFAULT_SESSION);
        String name = s == null ? DEFAULT_SESSION : String.valueOf(s);
        if (!(s == null || s instanceof String) || !Sandbox.SESSION_NAME.matcher(name).matches()) {
            return usage("\"session\" must match [A-Za-z0-9_-]{1,64}, e.g. \"analysis-1\"");
        }
        try {
            ExecResult r = exec(name, code);
            if (perCallLog) {
                log.println("cordon: mcp [" + name + "] " + r.status().json()
                        + (r.limit() != null ? " (" + r.limit().json() + ")" : "")
                        + " " + r.timing().wallMs() + " ms, " + r.blocked().size() + " blocked");
            }
            return McpSchema.CallToolResult.builder()
                    .addTextContent(ResultText.of(r))
                    .structuredContent(MAPPER.convertValue(r, MAP))
                    .isError(r.status() != ExecResult.Status.OK)
                    .build();
        } catch (Exception | Error e) {
            // Session.exec does not throw for anything guest code does; this is the host failing
            // (a pool that cannot build an interpreter, a workspace that cannot be created).
            if (log != null) {
                log.println("cordon: mcp [" + name + "] engine error: " + e);
            }
            return McpSchema.CallToolResult.builder()
                    .addTextContent("[error] EngineError: the sandbox could not run the call: " + e)
                    .isError(true)
                    .build();
        }
    }

    private ExecResult exec(String name, String code) {
        Session session = sandbox.openSession(name);
        try {
            return session.exec(code);
        } catch (IllegalStateException closed) {
            // The session was closed between lookup and call (sandbox shutdown or a racing close):
            // a fresh one under the same name is what the caller asked for.
            return sandbox.openSession(name).exec(code);
        }
    }

    private static McpSchema.CallToolResult usage(String message) {
        return McpSchema.CallToolResult.builder()
                .addTextContent("[error] invalid arguments: " + message)
                .isError(true)
                .build();
    }

    private static McpSchema.Tool buildTool(Sandbox sandbox) {
        Map<String, Object> code = new LinkedHashMap<>();
        code.put("type", "string");
        code.put("description", "Python 3 source to run. print() what you need to see: stdout is returned.");
        Map<String, Object> session = new LinkedHashMap<>();
        session.put("type", "string");
        session.put("pattern", "^[A-Za-z0-9_-]{1,64}$");
        session.put("description", "Session name (default \"" + DEFAULT_SESSION + "\"): calls with the same name share "
                + "one sandbox session (interpreter, workspace, uploads); different names are isolated.");
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("code", code);
        props.put("session", session);
        Map<String, Object> schema = new LinkedHashMap<>();
        schema.put("type", "object");
        schema.put("properties", props);
        schema.put("required", List.of("code"));
        schema.put("additionalProperties", false);
        boolean network = sandbox.policy().network().mode() != NetworkPolicy.Mode.DENY;
        return McpSchema.Tool.builder(TOOL_NAME, schema)
                .title("Run Python in the Cordon sandbox")
                .description(description(sandbox))
                // Effects stay in the sandbox's workspace, but they are effects: not read-only, not idempotent.
                .annotations(new McpSchema.ToolAnnotations("Run Python in the Cordon sandbox", false, false, false,
                        network, null))
                .build();
    }

    /** What the tool does, then the policy's rules (the same text as {@code cordon describe}). */
    static String description(Sandbox sandbox) {
        return "Runs Python 3 code and returns what it printed, any error with its traceback, every operation "
                + "the sandbox blocked (with the rule and the fix) and the files in the output directory.\n\n"
                + sandbox.describe();
    }

    /**
     * Serves MCP over newline-delimited JSON-RPC on {@code in}/{@code out} until {@code in} ends
     * (how an MCP client shuts a stdio server down), then closes the MCP session. The caller owns
     * and closes the sandbox. Nothing but protocol messages is written to {@code out}.
     */
    public void serveStdio(InputStream in, OutputStream out) throws InterruptedException {
        var mapper = new JacksonMcpJsonMapper(new ObjectMapper());
        LineGuard input = new LineGuard(in, out, mapper, log);
        var transport = new StdioServerTransportProvider(mapper, input, out);
        McpSyncServer server = McpServer.sync(transport)
                .serverInfo("cordon", version())
                .instructions("Run Python with the " + TOOL_NAME + " tool; its description lists the sandbox's rules.")
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .tools(toolSpecification())
                .build();
        try {
            input.awaitEof();
        } finally {
            server.closeGracefully();
        }
    }

    static String version() {
        String v = CordonMcpServer.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
