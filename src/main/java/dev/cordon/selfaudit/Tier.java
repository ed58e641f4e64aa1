package dev.cordon.selfaudit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Where the battery's guest code runs: {@code graalpy} (the in-JVM tier, always), {@code native}
 * (the native engine, when the policy runs Python there), {@code subprocess} (a sandboxed
 * {@code python3} started by guest code, when the policy allows it). One sandbox per tier; a fresh
 * session per check, so no check sees another's leftovers.
 */
final class Tier implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger SEQ = new AtomicInteger();

    /** Prints each attempt's outcome on one line; the verdicts never rest on these lines. */
    static final String PRELUDE = """
            import os, sys, socket
            def attempt(name, f):
                try:
                    r = f()
                    print('ATTEMPT', name, 'DID', repr(r)[:300], flush=True)
                except BaseException as e:
                    print('ATTEMPT', name, type(e).__name__, flush=True)
            """;

    /** The last line of every check's code: its absence means the attempts were cut short. */
    static final String DONE = "\nprint('CORDON-AUDIT-DONE', flush=True)\n";

    final String name;
    final Policy policy;
    private final Path root;
    private final Sandbox sandbox;
    /** Wraps check code for the subprocess tier; identity otherwise. */
    private final boolean viaSubprocess;

    Tier(String name, Policy policy, Path root, boolean viaSubprocess) {
        this.name = name;
        this.policy = policy;
        this.viaSubprocess = viaSubprocess;
        this.root = root;
        this.sandbox = Sandbox.builder().policy(policy).workspaceRoot(root.resolve(name)).poolSize(0).build();
    }

    /** The same tier on another policy (its own sandbox: close it). */
    Tier withPolicy(Policy p) {
        return new Tier(name, p, root.resolve(name + "-" + SEQ.incrementAndGet()), viaSubprocess);
    }

    /** A session to run one check in. */
    Session open(String check) {
        return sandbox.openSession((check + "-" + SEQ.incrementAndGet()).replaceAll("[^A-Za-z0-9_-]", "-"));
    }

    /** Runs {@code body} (after {@link #PRELUDE}) in {@code s}, through python3 in the subprocess tier. */
    Run run(Session s, String body, int timeoutSeconds) {
        String code = PRELUDE + body + DONE;
        if (viaSubprocess) {
            code = """
                    import subprocess, sys
                    p = subprocess.run(['python3', '-c', %s], capture_output=True, text=True, timeout=%d)
                    sys.stdout.write(p.stdout)
                    sys.stdout.write(p.stderr)
                    """.formatted(py(code), timeoutSeconds);
        }
        long t0 = System.nanoTime();
        ExecResult r = s.exec(code);
        return new Run(r, s.workspace(), (System.nanoTime() - t0) / 1_000_000);
    }

    /** Runs {@code body} in the session's own engine, never through python3. */
    Run runDirect(Session s, String body, int timeoutSeconds) {
        long t0 = System.nanoTime();
        ExecResult r = s.exec(PRELUDE + body + DONE);
        return new Run(r, s.workspace(), (System.nanoTime() - t0) / 1_000_000);
    }

    /** A Python string literal (JSON's escapes are Python's). */
    static String py(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        sandbox.close();
    }

    /** One call's result, and what the host can read of its session afterwards. */
    record Run(ExecResult result, Path workspace, long wallMs) {

        /** Whether the guest code got through all its attempts. */
        boolean finished() {
            return result.stdout().contains("CORDON-AUDIT-DONE");
        }

        /** Everything the guest could have put a secret into that the host gets back. */
        String output() {
            StringBuilder b = new StringBuilder(result.stdout()).append('\n').append(result.stderr());
            if (result.error() != null) {
                b.append('\n').append(result.error().message()).append('\n').append(result.error().traceback());
            }
            return b.toString();
        }

        /** Whether {@code token} is in the output or in any regular file of the workspace. */
        boolean leaked(String token) throws IOException {
            if (output().contains(token)) {
                return true;
            }
            byte[] needle = token.getBytes(StandardCharsets.UTF_8);
            try (Stream<Path> s = Files.walk(workspace)) {
                for (Path p : s.toList()) {
                    if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && contains(p, needle)) {
                        return true;
                    }
                }
            }
            return false;
        }

        private static boolean contains(Path p, byte[] needle) {
            try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                byte[] all = in.readNBytes(64 << 20);
                outer:
                for (int i = 0; i + needle.length <= all.length; i++) {
                    for (int j = 0; j < needle.length; j++) {
                        if (all[i + j] != needle[j]) {
                            continue outer;
                        }
                    }
                    return true;
                }
            } catch (IOException e) {
                return false; // unreadable by the host: not handed back to anyone
            }
            return false;
        }

        /** The guest's own account: {@code name=OUTCOME, ...} (informative only). */
        String guest() {
            Map<String, String> m = new LinkedHashMap<>();
            for (String line : result.stdout().split("\n")) {
                if (line.startsWith("ATTEMPT ")) {
                    String[] f = line.split(" ", 4);
                    if (f.length >= 3) {
                        m.put(f[1], f[2]);
                    }
                }
            }
            List<String> parts = new ArrayList<>();
            m.forEach((k, v) -> parts.add(k + "=" + v));
            String s = String.join(", ", parts);
            if (s.isEmpty()) {
                s = "status " + result.status().json() + (result.error() == null ? "" : " " + result.error().type());
            }
            return s.length() > 400 ? s.substring(0, 400) + "..." : s;
        }

        /** Attempts the guest reported as done (informative). */
        List<String> did() {
            List<String> out = new ArrayList<>();
            for (String line : result.stdout().split("\n")) {
                if (line.startsWith("ATTEMPT ") && line.split(" ", 4).length >= 3 && line.split(" ", 4)[2].equals("DID")) {
                    out.add(line.split(" ", 4)[1]);
                }
            }
            return out;
        }
    }
}
