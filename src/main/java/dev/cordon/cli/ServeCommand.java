package dev.cordon.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves sandbox calls as JSON lines on stdin/stdout, one session per name.",
                "Request:  {\"id\": any, \"session\": \"name\", \"code\": \"...\"}  (optional \"stdin\": \"text\")",
                "Response: {\"id\": same, ...result}   (the result schema of exec --json)",
                "Close:    {\"id\": any, \"op\": \"close\", \"session\": \"name\"}",
                "Upload:   {\"id\": any, \"op\": \"upload\", \"session\": \"name\", \"name\": \"data.csv\", \"base64\": \"...\"}",
                "Session names match [A-Za-z0-9_-]{1,64}; each has its own interpreter and workspace DIR/<session>.",
                "Calls of one session run in order; calls of different sessions run concurrently.",
                "Logs (pool warm-up, one summary line per call) go to stderr, never to the protocol stream."})
final class ServeCommand implements Callable<Integer> {

    /** Bound on one request line: agent tool code, not a bulk channel. Longer lines are refused unread. */
    static final int MAX_LINE_BYTES = 16 * 1024 * 1024;

    @Mixin
    PolicyOptions policy;

    @Option(names = "--workspace-root", paramLabel = "DIR",
            description = "Parent of the session workspaces (DIR/<session>). Default: a new temporary directory, removed at exit.")
    Path workspaceRoot;

    @Option(names = "--pool", paramLabel = "N", defaultValue = "2",
            description = "Warm interpreters kept ready for new sessions (default ${DEFAULT-VALUE}).")
    int poolSize;

    @Option(names = "--dev", description = "Development mode: with --reload-on-change, policy edits apply from the next call.")
    boolean dev;

    @Option(names = "--reload-on-change", description = "With --dev: reload the policy file when it changes (a bad edit keeps the last good policy).")
    boolean reloadOnChange;

    @Option(names = "--quiet", description = "No per-call summary lines on stderr.")
    boolean quiet;

    private final Map<String, CompletableFuture<?>> tails = new ConcurrentHashMap<>();
    /**
     * Platform threads, not virtual ones: a call may build an interpreter on its thread, and Truffle
     * does not fully support contexts on virtual threads. Idle workers die after a minute.
     */
    private final java.util.concurrent.ExecutorService workers = java.util.concurrent.Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon(true).name("cordon-serve-", 0).factory());
    private PrintStream protocol;
    private PrintStream log;

    @Override
    public Integer call() throws IOException {
        // The protocol stream is the process's real stdout; anything else that prints to System.out
        // (a library, an engine warning) goes to stderr so it can never corrupt a response line.
        protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        log = System.err;
        System.setOut(System.err);
        Policy p = policy.loadOrReport(log);
        if (p == null) {
            return ExitCodes.USAGE;
        }
        DevReloader reloader = null;
        if (dev && reloadOnChange) {
            if (policy.file == null) {
                log.println("cordon: --reload-on-change needs --policy FILE");
                return ExitCodes.USAGE;
            }
            reloader = new DevReloader(policy.file, log);
        } else if (reloadOnChange) {
            log.println("cordon: --reload-on-change works in development mode only: add --dev");
            return ExitCodes.USAGE;
        }
        if (workspaceRoot != null) {
            Files.createDirectories(workspaceRoot);
        }
        if (poolSize < 0 || poolSize > 64) {
            log.println("cordon: --pool must be 0-64");
            return ExitCodes.USAGE;
        }
        Sandbox.Builder b = Sandbox.builder().policy(p).poolSize(poolSize);
        if (workspaceRoot != null) {
            b.workspaceRoot(workspaceRoot);
        }
        long t0 = System.nanoTime();
        try (Sandbox sandbox = b.build()) {
            if (poolSize > 0) {
                McpCommand.reportWarm(sandbox, poolSize, log, t0);
            }
            log.println("cordon: serving JSON lines on stdin/stdout; policy " + (policy.file == null ? "default (embedded)" : policy.file)
                    + "; workspaces under " + sandbox.workspaceRoot() + "; warming " + poolSize + " interpreter(s)");
            loop(System.in, sandbox, reloader);
            // EOF: let every accepted call answer before the sessions close.
            CompletableFuture.allOf(tails.values().toArray(CompletableFuture[]::new)).join();
        }
        protocol.flush();
        return ExitCodes.OK;
    }

    private void loop(InputStream in, Sandbox sandbox, DevReloader reloader) throws IOException {
        LineReader lines = new LineReader(in, MAX_LINE_BYTES);
        while (true) {
            LineReader.Line line = lines.next();
            if (line == null) {
                return;
            }
            if (line.tooLong()) {
                respond(error(null, "BadRequest", "request line longer than " + MAX_LINE_BYTES + " bytes; refused"));
                continue;
            }
            if (line.text().isBlank()) {
                continue;
            }
            JsonNode req;
            try {
                req = Json.MAPPER.readTree(line.text());
            } catch (JsonProcessingException e) {
                respond(error(null, "BadRequest", "not a JSON object: " + e.getOriginalMessage()));
                continue;
            }
            if (req == null || !req.isObject()) {
                respond(error(null, "BadRequest", "a request is a JSON object on one line"));
                continue;
            }
            handle((ObjectNode) req, sandbox, reloader);
        }
    }

    private void handle(ObjectNode req, Sandbox sandbox, DevReloader reloader) {
        JsonNode id = req.get("id");
        String op = req.path("op").asText("exec");
        JsonNode sessionNode = req.get("session");
        String name = sessionNode == null ? "default" : sessionNode.isTextual() ? sessionNode.asText() : null;
        if (name == null || !Sandbox.SESSION_NAME.matcher(name).matches()) {
            respond(error(id, "BadRequest", "\"session\" must match [A-Za-z0-9_-]{1,64}"));
            return;
        }
        switch (op) {
            case "exec" -> {
                JsonNode code = req.get("code");
                if (code == null || !code.isTextual()) {
                    respond(error(id, "BadRequest", "\"code\" (a string) is required"));
                    return;
                }
                JsonNode stdin = req.get("stdin");
                byte[] input = stdin != null && stdin.isTextual() ? stdin.asText().getBytes(StandardCharsets.UTF_8) : null;
                enqueue(name, () -> {
                    List<String> notices = reloader == null ? List.of() : reloader.refresh(sandbox);
                    Session s = sandbox.openSession(name);
                    ExecResult r = s.exec(code.asText(), input).withNotices(notices);
                    if (!quiet) {
                        log.println("cordon: [" + name + "] " + r.status().json() + (r.limit() != null ? " (" + r.limit().json() + ")" : "")
                                + " " + r.timing().wallMs() + " ms, " + r.blocked().size() + " blocked");
                    }
                    ObjectNode out = Json.MAPPER.createObjectNode();
                    out.set("id", id);
                    out.setAll(Json.tree(r));
                    respond(out);
                }, id);
            }
            case "close" -> enqueue(name, () -> {
                Session s = sandbox.session(name);
                if (s != null) {
                    s.close();
                }
                ObjectNode out = Json.MAPPER.createObjectNode();
                out.set("id", id);
                out.put("status", "ok");
                out.put("session", name);
                out.put("closed", s != null);
                respond(out);
            }, id);
            case "upload" -> {
                JsonNode file = req.get("name");
                JsonNode data = req.get("base64");
                if (file == null || !file.isTextual() || data == null || !data.isTextual()) {
                    respond(error(id, "BadRequest", "upload needs \"name\" (a plain file name) and \"base64\""));
                    return;
                }
                byte[] bytes;
                try {
                    bytes = Base64.getDecoder().decode(data.asText());
                } catch (IllegalArgumentException e) {
                    respond(error(id, "BadRequest", "\"base64\" is not valid base64"));
                    return;
                }
                enqueue(name, () -> {
                    String guest = sandbox.openSession(name).upload(file.asText(), bytes);
                    ObjectNode out = Json.MAPPER.createObjectNode();
                    out.set("id", id);
                    out.put("status", "ok");
                    out.put("session", name);
                    out.put("path", guest);
                    respond(out);
                }, id);
            }
            default -> respond(error(id, "BadRequest", "unknown op \"" + op + "\" (exec, close, upload)"));
        }
    }

    interface Work {
        void run() throws Exception;
    }

    /** Chains the work after the session's previous request: in order per session, concurrent across sessions. */
    private void enqueue(String session, Work work, JsonNode id) {
        tails.compute(session, (k, prev) -> {
            CompletableFuture<?> start = prev == null ? CompletableFuture.completedFuture(null) : prev;
            return start.handleAsync((v, t) -> {
                try {
                    work.run();
                } catch (IllegalArgumentException e) {
                    respond(error(id, "BadRequest", e.getMessage()));
                } catch (Exception | Error e) {
                    // A host-side failure answers this request and keeps the loop serving.
                    respond(error(id, "EngineError", String.valueOf(e)));
                }
                return null;
            }, workers);
        });
    }

    private ObjectNode error(JsonNode id, String type, String message) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.set("id", id == null ? JsonNodeFactory.instance.nullNode() : id);
        out.put("status", "error");
        ObjectNode err = out.putObject("error");
        err.put("type", type);
        err.put("message", message);
        err.putNull("traceback");
        return out;
    }

    private void respond(ObjectNode node) {
        String line = Json.line(node);
        synchronized (this) {
            protocol.print(line);
            protocol.print('\n');
            protocol.flush();
        }
    }

    /** Reads UTF-8 lines with a bound, skipping the rest of a line that is too long without holding it. */
    static final class LineReader {
        record Line(String text, boolean tooLong) { }

        private final InputStream in;
        private final int max;
        private final byte[] buf = new byte[64 * 1024];
        private int pos;
        private int len;

        LineReader(InputStream in, int max) {
            this.in = in;
            this.max = max;
        }

        Line next() throws IOException {
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
            boolean tooLong = false;
            boolean any = false;
            while (true) {
                if (pos == len) {
                    len = in.read(buf);
                    pos = 0;
                    if (len <= 0) {
                        len = 0;
                        return any ? new Line(tooLong ? "" : line.toString(StandardCharsets.UTF_8), tooLong) : null;
                    }
                }
                any = true;
                int start = pos;
                while (pos < len && buf[pos] != '\n') {
                    pos++;
                }
                int n = pos - start;
                if (!tooLong) {
                    if (line.size() + n > max) {
                        tooLong = true;
                        line = new java.io.ByteArrayOutputStream();
                    } else {
                        line.write(buf, start, n);
                    }
                }
                if (pos < len) {
                    pos++; // the newline
                    return new Line(tooLong ? "" : line.toString(StandardCharsets.UTF_8), tooLong);
                }
            }
        }
    }

}
