package dev.cordon.cli;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "exec", mixinStandardHelpOptions = true,
        description = {"Runs one Python script in a fresh sandbox session and prints its output.",
                "Without --json: the guest's stdout and stderr as they are, then a one-line summary on stderr.",
                "With --dev --reload-on-change and no script: an interactive session that reads code from stdin",
                "(one statement per line; a block ends with an empty line) and reloads the policy file before",
                "each call when it changed."},
        footer = {"", "Exit codes: 0 success, 1 guest code raised, 2 usage or invalid policy, 3 a limit was hit."})
final class ExecCommand implements Callable<Integer> {

    /** Bound on a script read from a file or stdin: agent tool code, not a data channel. */
    static final long MAX_SCRIPT_BYTES = 8L * 1024 * 1024;

    @Mixin
    PolicyOptions policy;

    @Option(names = {"-w", "--workspace"}, paramLabel = "DIR",
            description = "Host directory behind the guest's workspace (created if missing). "
                    + "Default: a new temporary directory, kept afterwards so you can read the outputs.")
    Path workspace;

    @Option(names = {"-u", "--upload"}, paramLabel = "FILE",
            description = "Copy FILE into the policy's upload_dir before running (repeatable).")
    List<Path> uploads = new ArrayList<>();

    @Option(names = "--json", description = "Print one JSON result object (schema in README.md) instead of the raw output.")
    boolean json;

    @Option(names = "--dev", description = "Development mode (see --reload-on-change).")
    boolean dev;

    @Option(names = "--reload-on-change",
            description = "With --dev: reload the policy file when it changes; an edit takes effect on the next call, "
                    + "a bad edit keeps the last good policy and says why.")
    boolean reloadOnChange;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    CodeSource code;

    static final class CodeSource {
        @Option(names = "-c", paramLabel = "CODE", description = "Python code to run.")
        String inline;

        @Parameters(paramLabel = "SCRIPT", description = "Python file to run, or - to read the code from stdin.")
        String script;
    }

    @Override
    public Integer call() throws IOException {
        Policy p = policy.loadOrReport(System.err);
        if (p == null) {
            return ExitCodes.USAGE;
        }
        if (reloadOnChange && !dev) {
            System.err.println("cordon: --reload-on-change works in development mode only: add --dev");
            return ExitCodes.USAGE;
        }
        if (reloadOnChange && policy.file == null) {
            System.err.println("cordon: --reload-on-change needs --policy FILE");
            return ExitCodes.USAGE;
        }
        boolean repl = code == null;
        if (repl && !(dev && reloadOnChange)) {
            System.err.println("cordon: give a SCRIPT, -c CODE or - (stdin); or use --dev --reload-on-change for an interactive session");
            return ExitCodes.USAGE;
        }
        for (Path u : uploads) {
            if (!Files.isRegularFile(u)) {
                System.err.println("cordon: --upload " + u + ": not a readable file");
                return ExitCodes.USAGE;
            }
        }
        String source = null;
        if (!repl) {
            try {
                source = readCode();
            } catch (IllegalArgumentException e) {
                System.err.println("cordon: " + e.getMessage());
                return ExitCodes.USAGE;
            }
        }
        DevReloader reloader = dev && reloadOnChange ? new DevReloader(policy.file, System.err) : null;
        boolean temporary = workspace == null;
        Path ws = temporary ? Files.createTempDirectory("cordon-workspace-") : workspace;
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build();
             Session session = sandbox.openSession("exec", ws)) {
            for (Path u : uploads) {
                session.upload(u);
            }
            if (repl) {
                return repl(sandbox, session, reloader, ws, temporary);
            }
            ExecResult r = session.exec(source);
            print(r, ws, temporary);
            return ExitCodes.of(r);
        }
    }

    private void print(ExecResult r, Path ws, boolean temporary) {
        if (json) {
            System.out.println(Json.line(r));
        } else {
            System.out.print(r.stdout());
            System.out.flush();
            System.err.print(r.stderr());
            summary(System.err, r, ws, temporary);
        }
        System.out.flush();
    }

    /** The dev-mode interactive session: one call per statement, the policy re-read before each. */
    private int repl(Sandbox sandbox, Session session, DevReloader reloader, Path ws, boolean temporary) throws IOException {
        boolean tty = System.console() != null;
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder block = new StringBuilder();
        int last = ExitCodes.OK;
        System.err.println("cordon: dev session; workspace " + ws + "; policy " + policy.file
                + " is re-read before each call. End with Ctrl-D.");
        while (true) {
            if (tty) {
                System.err.print(block.isEmpty() ? ">>> " : "... ");
                System.err.flush();
            }
            String line = in.readLine();
            boolean eof = line == null;
            if (!eof) {
                boolean opensBlock = block.isEmpty() && line.stripTrailing().endsWith(":");
                if (opensBlock || !block.isEmpty()) {
                    if (!line.isBlank()) {
                        block.append(line).append('\n');
                        continue;
                    }
                } else {
                    block.append(line).append('\n');
                }
            }
            if (!block.isEmpty() && !block.toString().isBlank()) {
                List<String> notices = reloader.refresh(sandbox);
                ExecResult r = session.exec(block.toString()).withNotices(notices);
                print(r, ws, false);
                last = ExitCodes.of(r);
            }
            block.setLength(0);
            if (eof) {
                if (temporary) {
                    System.err.println("cordon: workspace kept at " + ws);
                }
                return last;
            }
        }
    }

    private String readCode() throws IOException {
        if (code.inline != null) {
            return code.inline;
        }
        byte[] bytes;
        if ("-".equals(code.script)) {
            bytes = System.in.readNBytes((int) MAX_SCRIPT_BYTES + 1);
        } else {
            Path f = Path.of(code.script);
            if (!Files.isRegularFile(f)) {
                throw new IllegalArgumentException("script " + f + ": no such file");
            }
            if (Files.size(f) > MAX_SCRIPT_BYTES) {
                throw new IllegalArgumentException("script " + f + " is larger than " + MAX_SCRIPT_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(f);
        }
        if (bytes.length > MAX_SCRIPT_BYTES) {
            throw new IllegalArgumentException("code on stdin is larger than " + MAX_SCRIPT_BYTES + " bytes");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static void summary(PrintStream err, ExecResult r, Path ws, boolean temporary) {
        for (ExecResult.Blocked b : r.blocked()) {
            err.println("cordon: blocked " + b.operation() + " " + b.target() + " (" + b.policy() + "): " + b.reason()
                    + ". To allow it: " + b.fix());
        }
        if (r.error() != null && r.error().traceback() != null) {
            err.print(r.error().traceback());
        } else if (r.error() != null) {
            err.println(r.error().type() + ": " + r.error().message());
        }
        for (String n : r.notices()) {
            err.println("cordon: " + n);
        }
        StringBuilder s = new StringBuilder("cordon: ").append(r.status().json());
        if (r.limit() != null) {
            s.append(" (limit ").append(r.limit().json()).append(')');
        }
        s.append(" in ").append(r.timing().wallMs()).append(" ms (cpu ").append(r.timing().cpuMs()).append(" ms), ")
                .append(r.blocked().size()).append(" blocked");
        if (!r.outputs().isEmpty()) {
            s.append(", ").append(r.outputs().size()).append(" output file(s)");
        }
        if (temporary) {
            s.append("; workspace kept at ").append(ws);
        }
        err.println(s);
    }
}
