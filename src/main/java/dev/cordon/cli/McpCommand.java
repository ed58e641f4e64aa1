package dev.cordon.cli;

import dev.cordon.Sandbox;
import dev.cordon.mcp.CordonMcpServer;
import dev.cordon.policy.Policy;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "mcp", mixinStandardHelpOptions = true,
        description = {"Serves the Model Context Protocol (MCP) over stdio, with one tool.",
                "",
                "run_python(code, session?) runs Python in the sandbox. The tool's description is",
                "the policy's describe text. Calls with the same session name share an",
                "interpreter and workspace DIR/<session>. Errors, limits and blocked operations",
                "(each with its rule and fix) come back as tool results with isError; the full",
                "result (exec --json schema) is in structuredContent.",
                "Logs (pool warm-up, one line per call) go to stderr, never to stdout.",
                "",
                "MCP client configuration:",
                "  {\"command\": \"/path/to/cordon/bin/cordon\", \"args\": [\"mcp\"]}"})
final class McpCommand implements Callable<Integer> {

    private static final long WARM_TIMEOUT_MS = 120_000;

    @Mixin
    PolicyOptions policy;

    @Option(names = "--workspace-root", paramLabel = "DIR",
            description = "Parent of the session workspaces (DIR/<session>). Default: a new temporary directory, removed at exit.")
    Path workspaceRoot;

    @Option(names = "--pool", paramLabel = "N", defaultValue = "1",
            description = "Warm interpreters kept ready for new sessions (default ${DEFAULT-VALUE}).")
    int poolSize;

    @Option(names = "--quiet", description = "No per-call summary lines on stderr.")
    boolean quiet;

    @Override
    public Integer call() throws IOException, InterruptedException {
        // The protocol stream is the process's real stdout. Everything else that prints to System.out
        // (a library, an engine warning) goes to stderr so it can never corrupt a JSON-RPC line; the
        // SDK's own SLF4J logging goes to stderr too, warnings and errors only.
        OutputStream protocol = new FileOutputStream(FileDescriptor.out);
        PrintStream log = System.err;
        System.setOut(System.err);
        setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        setIfAbsent("org.slf4j.simpleLogger.showThreadName", "false");
        setIfAbsent("org.slf4j.simpleLogger.showLogName", "false");
        Policy p = policy.loadOrReport(log);
        if (p == null) {
            return ExitCodes.USAGE;
        }
        if (poolSize < 0 || poolSize > 64) {
            log.println("cordon: --pool must be 0-64");
            return ExitCodes.USAGE;
        }
        if (workspaceRoot != null) {
            Files.createDirectories(workspaceRoot);
        }
        Sandbox.Builder b = Sandbox.builder().policy(p).poolSize(poolSize);
        if (workspaceRoot != null) {
            b.workspaceRoot(workspaceRoot);
        }
        long t0 = System.nanoTime();
        try (Sandbox sandbox = b.build()) {
            log.println("cordon: MCP server on stdio (tool " + CordonMcpServer.TOOL_NAME + "); policy "
                    + (policy.file == null ? "default (embedded)" : policy.file) + "; workspaces under "
                    + sandbox.workspaceRoot() + "; warming " + poolSize + " interpreter(s)");
            if (poolSize > 0) {
                reportWarm(sandbox, poolSize, log, t0);
            }
            new CordonMcpServer(sandbox, log, !quiet).serveStdio(System.in, protocol);
            log.println("cordon: MCP client closed the connection; shutting down");
        }
        return ExitCodes.OK;
    }

    /** One line when the pool is warm: until then the first call also pays for building an interpreter. */
    static void reportWarm(Sandbox sandbox, int target, PrintStream log, long t0) {
        Thread.ofPlatform().daemon(true).name("cordon-pool-warm").start(() -> {
            try {
                sandbox.awaitWarm(WARM_TIMEOUT_MS);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                // awaitWarm returns at the timeout too; by then a first call may also have taken a warm one.
                log.println(ms < WARM_TIMEOUT_MS
                        ? "cordon: pool warm: " + target + " interpreter(s) ready after " + ms + " ms"
                        : "cordon: pool still warming after " + ms + " ms (" + sandbox.warmContexts() + " of " + target + " ready)");
            } catch (InterruptedException | RuntimeException e) {
                // Shutting down before warm-up finished: nothing to report.
            }
        });
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
