package dev.cordon.nativetier;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU times from {@code /proc/PID/stat}: the fallback when no cgroup accounts for a sandbox. */
final class ProcStat {

    /** Clock ticks per second: 100 on every Linux build Cordon targets (USER_HZ). */
    private static final long TICK_NANOS = 10_000_000L;

    private ProcStat() { }

    /** utime + stime + cutime + cstime of {@code pid} in ns, 0 if it is gone. */
    static long cpuNanos(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // Fields after the command name, which is in parentheses and may contain spaces.
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
            return ticks * TICK_NANOS;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
