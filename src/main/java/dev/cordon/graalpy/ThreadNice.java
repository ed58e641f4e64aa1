package dev.cordon.graalpy;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Lowers the scheduling priority of the calling thread (Linux {@code setpriority} on its thread id).
 * Java's {@link Thread#setPriority} does nothing on Linux unless the JVM runs with
 * {@code -XX:ThreadPriorityPolicy=1} as root, so a "low priority" warm-up thread would otherwise
 * compete equally with guest calls for a small machine's cores; with nice 19 the scheduler gives it
 * only what the calls leave idle. Best effort: without native access it does nothing.
 */
final class ThreadNice {

    private static final long SYS_GETTID = 186; // x86_64
    private static final long SYS_GETTID_AARCH64 = 178;
    private static final int PRIO_PROCESS = 0;
    private static final MethodHandle SYSCALL;
    private static final MethodHandle SETPRIORITY;

    static {
        MethodHandle sys = null;
        MethodHandle prio = null;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            sys = linker.downcallHandle(libc.find("syscall").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(1));
            prio = linker.downcallHandle(libc.find("setpriority").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        } catch (RuntimeException | LinkageError e) {
            sys = null;
            prio = null;
        }
        SYSCALL = sys;
        SETPRIORITY = prio;
    }

    private ThreadNice() { }

    /** Sets the calling thread's nice value (0-19); returns whether it took effect. */
    static boolean lowerCurrentThread(int nice) {
        if (SYSCALL == null || !System.getProperty("os.name", "").equals("Linux")) {
            return false;
        }
        String arch = System.getProperty("os.arch", "");
        long nr = arch.equals("amd64") || arch.equals("x86_64") ? SYS_GETTID
                : arch.equals("aarch64") ? SYS_GETTID_AARCH64 : -1;
        if (nr < 0) {
            return false;
        }
        try {
            long tid = (long) SYSCALL.invokeExact(nr);
            return (int) SETPRIORITY.invokeExact(PRIO_PROCESS, (int) tid, nice) == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
