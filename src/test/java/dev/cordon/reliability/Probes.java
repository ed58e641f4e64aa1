package dev.cordon.reliability;

import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyException;
import dev.cordon.policy.PolicyLoader;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** What the reliability tests measure from outside: threads, heap, file descriptors, child processes. */
final class Probes {

    private Probes() { }

    /** Both isolation modes, as their YAML names. */
    static final List<String> MODES = List.of("in-process", "worker");

    /** A policy from YAML text, failing the test on a parse error. */
    static Policy policy(String yaml) {
        try {
            return PolicyLoader.parse(yaml, "test");
        } catch (PolicyException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /**
     * The policy for {@code mode} ("in-process" or "worker") with {@code sandbox} as the body of
     * {@code execution.sandbox} (YAML flow mappings, one per line, indented by the caller or not).
     */
    static Policy policy(String mode, String engine, String sandbox) {
        StringBuilder y = new StringBuilder("execution:\n  isolation: ").append(mode).append("\n  engine: ").append(engine)
                .append('\n');
        if (!sandbox.isBlank()) {
            y.append("  sandbox:\n");
            for (String line : sandbox.strip().split("\n")) {
                if (!line.isBlank()) {
                    y.append("    ").append(line.strip()).append('\n');
                }
            }
        }
        return policy(y.toString());
    }

    static int threads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    /** Names of live threads, counted by name with digits removed (for a readable leak report). */
    static Map<String, Integer> threadNames() {
        Map<String, Integer> m = new TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            m.merge(t.getName().replaceAll("[0-9]+", "#"), 1, Integer::sum);
        }
        return m;
    }

    static long heapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static int fds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static long descendants() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).count();
    }

    /** Waits up to {@code millis} for {@code check} to hold; returns whether it did. */
    static boolean eventually(long millis, java.util.function.BooleanSupplier check) {
        long end = System.currentTimeMillis() + millis;
        while (true) {
            if (check.getAsBoolean()) {
                return true;
            }
            if (System.currentTimeMillis() > end) {
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** A process's argv from /proc (ProcessHandle.Info.arguments() is often empty on Linux). */
    static List<String> argv(long pid) {
        try {
            String raw = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
            return List.of(raw.split("\0"));
        } catch (IOException e) {
            return List.of();
        }
    }

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Where tests leave measurements for docs/isolation.md: target/reliability/. */
    static Path reportDir() throws IOException {
        Path d = Path.of(System.getProperty("cordon.repo", "."), "target", "reliability");
        Files.createDirectories(d);
        return d;
    }
}
