package dev.cordon.selfaudit;

import dev.cordon.decision.Decision;
import dev.cordon.decision.ExecDecisions;
import dev.cordon.nativetier.Availability;
import dev.cordon.nativetier.EngineChoice;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * {@code cordon audit}: a built-in battery of escape attempts against a policy, the guide's "test
 * with adversarial inputs" made a command. Every attempt is judged from outside the sandbox: canary
 * bytes absent from everything the guest hands back, the outside directory empty, listener and
 * resolver counts zero, marker files absent, calls ended in time and output bounded.
 *
 * <p>Tiers: the in-JVM tier always (engine forced to {@code graalpy}); the native engine when the
 * policy runs Python there; a sandboxed {@code python3} started by guest code when the policy allows
 * {@code python}. Process checks go through whatever the policy configures (the process gate).
 *
 * <p>Cost: the limit checks wait for the policy's own limits (an endless loop runs until
 * {@code max_cpu_seconds}, a sleep until {@code max_wall_seconds}); they run concurrently, so a
 * run takes about {@code max_wall_seconds} plus a few seconds per check.
 */
public final class SelfAudit {

    private SelfAudit() { }

    static final int MIN_CPU = 60;
    static final int MIN_WALL = 120;

    /** The policy with time limits of at least {@link #MIN_CPU} / {@link #MIN_WALL} seconds. */
    static Policy roomy(Policy p) {
        ResourcesPolicy r = p.resources();
        if (r.maxCpuSeconds() >= MIN_CPU && r.maxWallSeconds() >= MIN_WALL) {
            return p;
        }
        return p.withResources(new ResourcesPolicy(r.maxMemoryMb(), Math.max(MIN_CPU, r.maxCpuSeconds()),
                r.maxOutputSizeMb(), r.maxProcesses(), Math.max(MIN_WALL, r.maxWallSeconds())));
    }

    /** The limit checks, in the order they are reported. */
    static final List<String> LIMITS = List.of("cpu", "memory", "output", "sleep");

    /**
     * @param scratch  where the canary, the outside directory and the workspaces go (default
     *                 {@code /var/tmp}, else the user's cache dir); removed afterwards
     * @param limits   run the limit checks (they take about {@code max_wall_seconds})
     * @param only     check id prefixes to run (e.g. {@code net.}, {@code proc.shell}); empty: all
     * @param progress where a line per finished check goes, or null
     */
    public record Options(Path scratch, boolean limits, Set<String> only, PrintStream progress) {
        public Options {
            only = Set.copyOf(only);
        }

        public static Options defaults() {
            return new Options(null, true, Set.of(), null);
        }
    }

    /**
     * @param policyName shown in the report
     * @param checks     in the order run
     * @param notes      tiers skipped and why, and other things to know
     */
    public record Report(String policyName, List<Check> checks, List<String> notes) {
        public Report {
            checks = List.copyOf(checks);
            notes = List.copyOf(notes);
        }

        public boolean allHeld() {
            return checks.stream().noneMatch(c -> c.status() == Check.Status.NOT_HELD);
        }

        public List<Check> notHeld() {
            return checks.stream().filter(c -> c.status() == Check.Status.NOT_HELD).toList();
        }

        /** The whole report: every check, then {@link #summary()}. */
        public String text() {
            StringBuilder b = new StringBuilder();
            for (Check c : checks) {
                b.append(line(c));
            }
            return b.append(summary()).toString();
        }

        /** Notes, the checks not held, and the counts. */
        public String summary() {
            StringBuilder b = new StringBuilder("cordon audit: ").append(policyName).append('\n');
            for (String n : notes) {
                b.append("  note: ").append(n).append('\n');
            }
            for (Check c : notHeld()) {
                b.append("  NOT HELD: ").append(c.id()).append(" (").append(c.tier()).append("): ").append(c.observed())
                        .append('\n');
            }
            long held = checks.stream().filter(c -> c.status() == Check.Status.HELD).count();
            long skipped = checks.stream().filter(c -> c.status() == Check.Status.SKIPPED).count();
            b.append(checks.size()).append(" checks: ").append(held).append(" held, ").append(notHeld().size())
                    .append(" NOT HELD, ").append(skipped).append(" skipped\n");
            return b.toString();
        }

        static String line(Check c) {
            StringBuilder b = new StringBuilder(String.format("%-9s %-17s %-10s %s%n", c.status().text(), c.id(),
                    c.tier(), c.observed()));
            if (c.status() != Check.Status.SKIPPED && !c.guest().isEmpty()) {
                b.append(String.format("%-9s %-17s %-10s guest saw: %s%n", "", "", "", c.guest()));
            }
            return b.toString();
        }
    }

    /** Runs the battery against {@code policy}. Never edits anything but its own scratch directory. */
    public static Report run(Policy policy, Options o) throws IOException {
        String name = policy.source() == null ? "(built-in policy)" : policy.source().toString();
        List<String> notes = new ArrayList<>();
        List<Check> checks = new ArrayList<>();
        try (Fixture fx = new Fixture(o.scratch(), policy.network())) {
            List<Tier> tiers = new ArrayList<>();
            try {
                // Gate checks must get through their attempts: time limits below a minute are raised for
                // them (slow imports on a busy host would otherwise cut them short); the limit checks use
                // the policy's own values.
                Policy gates = roomy(policy);
                if (!gates.resources().equals(policy.resources())) {
                    notes.add("the filesystem, network, process and host checks ran with max_cpu_seconds >= " + MIN_CPU
                            + " and max_wall_seconds >= " + MIN_WALL + "; the limit checks use the policy's values");
                }
                tiers.add(new Tier("graalpy", gates.withEngine(Policy.EngineKind.GRAALPY), fx.workspaces, false));
                Availability a = NativeTier.get().check();
                boolean nativeUp = a.available();
                if (EngineChoice.useNative(policy)) {
                    if (nativeUp) {
                        tiers.add(new Tier("native", gates, fx.workspaces, false));
                    } else {
                        notes.add("the policy runs Python in the native engine, which is not available here; "
                                + "Cordon refuses to run it (fail closed), so the native tier was not checked: "
                                + firstLine(a.describe()));
                    }
                }
                if (policy.subprocess().allow()
                        && ExecDecisions.decide(policy.subprocess(), "python3") instanceof Decision.Allow) {
                    if (nativeUp) {
                        tiers.add(new Tier("subprocess", gates.withEngine(Policy.EngineKind.GRAALPY), fx.workspaces,
                                true));
                    } else {
                        notes.add("the policy allows python subprocesses, but the native tier is not available here "
                                + "(they are refused), so the subprocess tier was not checked");
                    }
                }
                if (policy.subprocess().allow() && !nativeUp) {
                    notes.add("subprocesses are refused on this host (native tier unavailable): process checks "
                            + "observe that refusal");
                }
                Battery battery = new Battery(fx, policy);
                for (Tier t : tiers) {
                    boolean sub = t.name.equals("subprocess");
                    boolean gp = t.name.equals("graalpy");
                    run(checks, o, "fs.read-outside", t.name, () -> battery.readOutside(t));
                    run(checks, o, "fs.dotdot", t.name, () -> battery.dotDot(t));
                    run(checks, o, "fs.symlink-out", t.name, () -> battery.symlinkOut(t));
                    run(checks, o, "fs.write-outside", t.name, () -> battery.writeOutside(t));
                    run(checks, o, "fs.log-tamper", t.name, () -> battery.logTamper(t, t.policy));
                    run(checks, o, "net.connect", t.name, () -> battery.connect(t));
                    run(checks, o, "net.odd-ip", t.name, () -> battery.oddAddresses(t));
                    run(checks, o, "net.udp", t.name, () -> battery.udp(t));
                    run(checks, o, "net.dns", t.name, () -> battery.dns(t));
                    if (!sub) {
                        run(checks, o, "net.listen", t.name, () -> battery.listen(t));
                        run(checks, o, "proc.not-allowed", t.name, () -> battery.commandNotAllowed(t));
                        run(checks, o, "proc.shell", t.name, () -> battery.shell(t));
                        run(checks, o, "proc.lookalike", t.name, () -> battery.lookalike(t));
                    }
                    if (gp) {
                        run(checks, o, "host.java", t.name, () -> battery.hostJava(t));
                        run(checks, o, "host.polyglot", t.name, () -> battery.hostPolyglot(t));
                    }
                    if (!sub) {
                        run(checks, o, "host.survival", t.name, () -> battery.survival(t));
                    }
                }
                if (o.limits()) {
                    List<Tier> own = new ArrayList<>();
                    for (Tier t : List.copyOf(tiers)) {
                        if (!t.name.equals("subprocess")) {
                            Tier l = t.withPolicy(t.name.equals("graalpy") ? policy.withEngine(Policy.EngineKind.GRAALPY)
                                    : policy);
                            own.add(l);
                            tiers.add(l); // closed with the others
                        }
                    }
                    limits(checks, o, own, battery);
                }
            } finally {
                for (Tier t : tiers) {
                    try {
                        t.close();
                    } catch (RuntimeException e) {
                        notes.add("closing the " + t.name + " tier: " + e.getMessage());
                    }
                }
            }
            notes.addAll(fx.notes);
        }
        return new Report(name, checks, notes);
    }

    @FunctionalInterface
    private interface CheckBody {
        Check run() throws Exception;
    }

    private static void run(List<Check> checks, Options o, String id, String tier, CheckBody body) {
        if (!o.only().isEmpty() && o.only().stream().noneMatch(id::startsWith)) {
            return;
        }
        Check c;
        try {
            c = body.run();
        } catch (Exception | AssertionError e) {
            // A check that cannot run has not shown the policy holds.
            c = Check.notHeld(id, tier, "the check itself failed: " + e, "");
        }
        checks.add(c);
        if (o.progress() != null) {
            o.progress().print(Report.line(c));
            o.progress().flush();
        }
    }

    /** The limit checks of every tier but the subprocess one, concurrently: each waits for a limit. */
    private static void limits(List<Check> checks, Options o, List<Tier> tiers, Battery battery) {
        List<Future<Check>> futures = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        ExecutorService pool = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().name("cordon-audit-limit-", 0)
                .factory());
        try {
            for (Tier t : tiers) {
                if (t.name.equals("subprocess")) {
                    continue;
                }
                for (String which : LIMITS) {
                    String id = "limit." + which;
                    if (!o.only().isEmpty() && o.only().stream().noneMatch(id::startsWith)) {
                        continue;
                    }
                    ids.add(id + " " + t.name);
                    futures.add(pool.submit(() -> battery.limit(t, which)));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                Check c;
                String[] idTier = ids.get(i).split(" ");
                long bound = 0;
                for (Tier t : tiers) {
                    if (t.name.equals(idTier[1])) {
                        bound = t.policy.resources().maxWallSeconds() + 60L;
                    }
                }
                try {
                    c = futures.get(i).get(bound, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    c = Check.notHeld(idTier[0], idTier[1], "the call had not returned " + bound + " s later", "");
                } catch (Exception e) {
                    c = Check.notHeld(idTier[0], idTier[1], "the check itself failed: " + e, "");
                }
                checks.add(c);
                if (o.progress() != null) {
                    o.progress().print(Report.line(c));
                    o.progress().flush();
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
