package dev.cordon.learn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code cordon learn} (in the spirit of SELinux's audit2allow): runs a script under a shadow of
 * the user's policy and proposes the smallest additions that would let it run.
 *
 * <p>How: the script runs, in a fresh scratch workspace, under the user's policy. Each denial it
 * meets names the rule and the target ({@code network connect 127.0.0.1:8080 (network.policy)});
 * learn turns it into the narrowest change of that knob ({@link Changes}) and runs the script again
 * under the policy plus the changes found so far, until a run meets nothing new. So the shadow is
 * permissive only for what the script has been seen to ask for: its connections go through the
 * network gate exactly as they would under the proposed policy, its writes land in a scratch copy of
 * the workspace, and writes outside the workspace, denied by a rule no key can change, stay denied
 * (they are reported, never performed). A name the script only looks up is allowed on every port for
 * the next run, to see which port it connects to; that run's egress record gives the port. When the
 * last run used exactly the user's policy plus the proposed additions and nothing was blocked, the
 * proposal is <em>verified</em>.
 *
 * <p>Never widens anything by itself: the policy file is not written, the user's log files are not
 * written (log files outside the workspace are left out of the shadow), and the scratch workspaces
 * are deleted afterwards.
 *
 * <p>Limits: the script runs several times (at most {@link Options#maxRuns}), so effects outside the
 * sandbox that the policy allows (a POST to an allowed API) happen more than once; a script whose
 * behaviour depends on chance may need other rules on another run; a limit is found by doubling.
 */
public final class Learner {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Learner() { }

    /**
     * @param workspace a host directory copied (regular files and directories, never links) into each
     *                  run's scratch workspace, or null; never written
     * @param uploads   host files copied into the upload dir of each run
     * @param maxRuns   bound on the runs (each denial found costs one)
     * @param progress  where a line per run goes (stderr in the CLI), or null
     */
    public record Options(Path workspace, List<Path> uploads, int maxRuns, PrintStream progress) {
        public Options {
            uploads = List.copyOf(uploads);
            if (maxRuns < 1 || maxRuns > 100) {
                throw new IllegalArgumentException("max runs must be 1-100: " + maxRuns);
            }
        }

        public static Options defaults() {
            return new Options(null, List.of(), 12, null);
        }
    }

    /**
     * Learns what {@code script} needs beyond {@code policy}.
     *
     * @param scriptName shown in the proposal's header
     */
    public static LearnReport learn(Policy policy, String script, String scriptName, Options o) throws IOException {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(script, "script");
        Path root = Files.createTempDirectory("cordon-learn-");
        try {
            Changes ch = new Changes(policy);
            Path egress = root.resolve("egress.jsonl");
            ExecResult last = null;
            boolean verified = false;
            int runs = 0;
            boolean converged = false;
            while (runs < o.maxRuns()) {
                runs++;
                boolean exact = !ch.hasPlaceholders();
                Policy shadow = ch.shadow();
                shadow = shadow.withLogging(Changes.shadowLogging(policy, shadow, egress.toString()));
                Files.deleteIfExists(egress);
                long t0 = System.nanoTime();
                last = runOnce(shadow, script, root.resolve("run-" + runs), o);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                boolean changed = false;
                for (ExecResult.Blocked b : last.blocked()) {
                    changed |= ch.absorb(b);
                }
                if (last.limit() != null) {
                    changed |= ch.absorbLimit(last.limit(), last);
                }
                changed |= observe(egress, ch);
                progress(o, runs, last, changed, ms);
                if (!changed) {
                    converged = true;
                    verified = exact && last.blocked().isEmpty() && last.limit() == null;
                    break;
                }
            }
            if (!converged && o.progress() != null) {
                o.progress().println("learn: stopped after " + runs + " runs (--max-runs); the proposal is not verified");
            }
            String policyName = policy.source() == null ? "the policy" : policy.source().getFileName().toString();
            ProposalYaml.Rendered r = ProposalYaml.render(ch, policy, policyName, scriptName, runs, verified,
                    last.status().json());
            return new LearnReport(r.yaml(), r.additions(), r.refusals(), ch.proposed(), runs, verified, last);
        } finally {
            deleteTree(root);
        }
    }

    /** One run in a fresh sandbox and scratch workspace. */
    private static ExecResult runOnce(Policy shadow, String script, Path dir, Options o) throws IOException {
        Path ws = dir.resolve("workspace");
        Files.createDirectories(ws);
        if (o.workspace() != null) {
            copyTree(o.workspace(), ws);
        }
        try (Sandbox sb = Sandbox.builder().policy(shadow).workspaceRoot(dir).poolSize(0).build();
             Session s = sb.openSession("learn", ws)) {
            for (Path u : o.uploads()) {
                s.upload(u);
            }
            return s.exec(script);
        }
    }

    /** Ports of placeholder names, from the shadow run's egress records. */
    private static boolean observe(Path egress, Changes ch) throws IOException {
        if (!Files.isRegularFile(egress, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        boolean changed = false;
        for (String line : Files.readAllLines(egress)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = JSON.readTree(line);
            JsonNode name = n.get("name");
            if (name != null && !name.isNull() && n.has("port")) {
                changed |= ch.observed(name.asText(), n.get("port").asInt());
            }
        }
        return changed;
    }

    private static void progress(Options o, int run, ExecResult r, boolean changed, long ms) {
        if (o.progress() == null) {
            return;
        }
        String blocked = r.blocked().stream().map(b -> b.operation().replace('.', ' ') + " " + b.target() + " ("
                + b.policy() + ")").distinct().collect(Collectors.joining("; "));
        o.progress().println("learn: run " + run + " (" + ms + " ms): " + r.status().json()
                + (r.limit() != null ? " (limit " + r.limit().json() + ")" : "")
                + (r.error() != null ? " " + r.error().type() : "")
                + (blocked.isEmpty() ? ", nothing blocked" : ", blocked: " + blocked)
                + (changed ? "; trying again with what it needed" : ""));
    }

    /** Copies regular files and directories; links and special files are skipped (never followed). */
    static void copyTree(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Files.createDirectories(to.resolve(from.relativize(dir).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    Files.copy(file, to.resolve(from.relativize(file).toString()));
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            List<Path> all = new ArrayList<>(s.toList());
            all.sort(Comparator.reverseOrder());
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // Best effort: the report matters more than a leftover scratch file.
            System.err.println("cordon: learn could not remove its scratch directory " + root + ": " + e.getMessage());
        }
    }
}
