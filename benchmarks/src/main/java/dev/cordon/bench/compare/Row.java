package dev.cordon.bench.compare;

/**
 * One runtime in the comparison: how the same Python code is run by one kind of sandbox. Adding a
 * row is one small subclass plus a line in {@link Compare#rows}: implement {@link #open},
 * {@link #run} and {@link #close}; return a reason from {@link #unavailable} when the runtime is
 * missing, and the table says so instead of showing a number.
 */
abstract class Row implements AutoCloseable {

    /** Stable key used in the JSON output (e.g. {@code cordon}, {@code bwrap-cpython}). */
    abstract String id();

    /** What a reader sees in the table. */
    abstract String label();

    /** Whether each call starts a new process (these rows get fewer samples: each one costs ms). */
    boolean perCallProcess() {
        return false;
    }

    /** Why this row cannot run here, or null when it can. Checked before {@link #open}. */
    String unavailable() {
        return null;
    }

    /** Starts the runtime (interpreter, worker, process); not timed. */
    abstract void open() throws Exception;

    /**
     * Runs {@code code} until warm (at least {@code warmupMin} calls and {@code warmupSeconds}),
     * then {@code n} timed calls, each timed around one call as the caller of that runtime sees it.
     */
    abstract Samples run(String code, double warmupSeconds, int warmupMin, int n) throws Exception;

    /** Extra facts for the table's notes (versions, load time); may be empty. */
    String note() {
        return "";
    }

    @Override
    public abstract void close() throws Exception;

    /** Per-call latencies in nanoseconds and the stdout of the last call (checked across rows). */
    record Samples(long[] nanos, String lastOutput) { }
}
