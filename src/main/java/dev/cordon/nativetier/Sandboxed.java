package dev.cordon.nativetier;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One running sandbox: the outer bwrap process (a child of the JVM) and its cgroups. Killing it
 * kills the whole tree: every process in the sandbox's cgroup, and bwrap's {@code --die-with-parent}
 * chain takes the pid namespace down with the outer process anyway.
 */
final class Sandboxed {

    final Process process;
    private final Cgroups.Leaf leaf;
    private volatile boolean released;

    Sandboxed(Process process, Cgroups.Leaf leaf) {
        this.process = process;
        this.leaf = leaf;
        process.onExit().thenRun(this::releaseWhenEmpty);
    }

    long pid() {
        return process.pid();
    }

    /** Host pids of everything in the sandbox now (cgroup listing, else the process tree). */
    List<Long> pids() {
        if (leaf != null && leaf.hasProcsFile()) {
            return leaf.pids();
        }
        List<Long> out = new ArrayList<>();
        if (process.isAlive()) {
            out.add(process.pid());
        }
        process.descendants().forEach(h -> out.add(h.pid()));
        return out;
    }

    /** SIGKILL to every process of the sandbox. */
    void kill() {
        if (leaf != null) {
            leaf.killAll();
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /** CPU time of the whole sandbox in ns (cgroup accounting, else the live tree's /proc times). */
    long cpuNanos() {
        if (leaf != null) {
            long v = leaf.cpuNanos();
            if (v >= 0) {
                return v;
            }
        }
        long sum = 0;
        sum += ProcStat.cpuNanos(process.pid());
        for (ProcessHandle h : process.descendants().toList()) {
            sum += ProcStat.cpuNanos(h.pid());
        }
        return sum;
    }

    long oomKills() {
        return leaf == null ? 0 : leaf.oomKills();
    }

    /** Waits for the exit and for the cgroup to empty, then removes it. */
    void awaitGone(long millis) {
        try {
            process.waitFor(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        releaseWhenEmpty();
    }

    private void releaseWhenEmpty() {
        if (released || leaf == null) {
            return;
        }
        synchronized (this) {
            if (released) {
                return;
            }
            // The pid namespace dies with bwrap's reaper; stragglers are killed so the group can go.
            for (int i = 0; i < 40 && !leaf.pids().isEmpty(); i++) {
                leaf.killAll();
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            leaf.remove();
            released = true;
        }
    }
}
