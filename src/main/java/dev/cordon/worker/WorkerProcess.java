package dev.cordon.worker;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * One worker JVM as the host sees it: the process, the two pipes of the protocol, and a deadline
 * that kills the process when an answer does not come in time. Used by one thread at a time (the
 * pool while it starts, then the session that owns it).
 */
final class WorkerProcess {

    /** Exit status of a JVM ended by {@code -XX:+ExitOnOutOfMemoryError}: its heap ran out. */
    static final int EXIT_OUT_OF_MEMORY = 3;

    /**
     * One daemon thread for every deadline of every worker of this JVM. A deadline is armed per
     * request and cancelled when the answer arrives (removed from the queue at once, so a million
     * calls leave nothing behind).
     */
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon(true).name("cordon-worker-deadline").factory());
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    final Process process;
    final long pid;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final Wire.Out frame = new Wire.Out();
    private volatile String killedBecause;
    private long warmMillis = -1;

    private WorkerProcess(Process process) {
        this.process = process;
        this.pid = process.pid();
        this.out = new DataOutputStream(new BufferedOutputStream(process.getOutputStream(), 64 * 1024));
        this.in = new DataInputStream(new BufferedInputStream(process.getInputStream(), 64 * 1024));
    }

    /** Starts the JVM; it warms up on its own and answers {@link #awaitReady} when it can serve. */
    static WorkerProcess start(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        // The worker's own log lines (JVM warnings, engine messages) go where the host's go. Guest
        // output never reaches the worker's stderr: it is captured per call and sent in the result.
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        return new WorkerProcess(pb.start());
    }

    Wire.Out frame(byte type) {
        return frame.reset(type);
    }

    /** Sends the HELLO frame built in {@link #frame} and waits for READY. */
    void hello(long timeoutMillis) throws IOException {
        Wire.In r = call(timeoutMillis, "did not get ready");
        if (r.type == Wire.FAIL) {
            String kind = r.str();
            throw new IOException("the worker refused to start (" + kind + "): " + r.str());
        }
        if (r.type != Wire.READY) {
            throw new IOException("unexpected answer " + r.type + " to HELLO");
        }
        long reportedPid = r.i64();
        warmMillis = r.i64();
        if (reportedPid != pid) {
            throw new IOException("worker reports pid " + reportedPid + ", expected " + pid);
        }
    }

    long warmMillis() {
        return warmMillis;
    }

    /**
     * Sends the frame built in {@link #frame} and reads the one answer. If no answer arrives within
     * {@code timeoutMillis} the process is killed ({@code reason} is remembered) and the read ends
     * with an exception.
     */
    Wire.In call(long timeoutMillis, String reason) throws IOException {
        ScheduledFuture<?> deadline = TIMER.schedule(() -> kill(reason), timeoutMillis, TimeUnit.MILLISECONDS);
        try {
            frame.send(out);
            return Wire.In.read(in);
        } finally {
            deadline.cancel(false);
        }
    }

    /** Kills the process now (SIGKILL), remembering why, unless it already ended. */
    void kill(String reason) {
        if (process.isAlive()) {
            if (killedBecause == null) {
                killedBecause = reason;
            }
            process.destroyForcibly();
        }
    }

    /** Why the host killed it, or null if it was not the host. */
    String killedBecause() {
        return killedBecause;
    }

    boolean alive() {
        return process.isAlive();
    }

    /**
     * Waits for the process to end (killing it if it takes longer than {@code millis}), closes the
     * pipes, and returns its exit status ({@code 128 + signal} when a signal ended it).
     */
    int reap(long millis) {
        try {
            if (!process.waitFor(millis, TimeUnit.MILLISECONDS)) {
                kill("did not exit when asked");
                process.waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        closePipes();
        return process.isAlive() ? -1 : process.exitValue();
    }

    private void closePipes() {
        for (java.io.Closeable c : new java.io.Closeable[] {out, in, process.getErrorStream()}) {
            try {
                c.close();
            } catch (IOException e) {
                // the process is gone; nothing to flush
            }
        }
    }

    /** "exit status 3", "killed by signal 9 (SIGKILL)". */
    static String describeExit(int status) {
        if (status > 128 && status < 128 + 65) {
            int sig = status - 128;
            String name = switch (sig) {
                case 9 -> " (SIGKILL)";
                case 15 -> " (SIGTERM)";
                case 6 -> " (SIGABRT)";
                case 11 -> " (SIGSEGV)";
                default -> "";
            };
            return "killed by signal " + sig + name;
        }
        return "exit status " + status;
    }

    @Override
    public String toString() {
        return "worker pid " + pid;
    }
}
