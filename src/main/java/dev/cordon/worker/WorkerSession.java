package dev.cordon.worker;

import dev.cordon.ExecResult;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * One session of the worker tier, host side: forwards calls, uploads and policy reloads to the
 * session's worker JVM and turns the worker's death into a result. Calls run one at a time.
 *
 * <p>When the worker ends during or after a call (killed, out of memory, a guest that would not
 * stop, a deadline passed), that call reports {@code limit} or {@code error} with a notice, and the
 * next call runs in a fresh worker: Python globals are gone, workspace files are kept, and that
 * call's {@code notices} say so too.
 */
public final class WorkerSession implements AutoCloseable {

    /**
     * How long past {@code max_wall_seconds} the host waits for an answer before it kills the
     * worker: the worker's own watchdog gives a stopped guest 3 s, and a first call may still build
     * its interpreter. Only a wedged worker ever reaches this.
     */
    static final long DEADLINE_SLACK_MS = 15_000;
    /** Bound on uploads, reloads and closing (a native workspace is copied back at close). */
    static final long CONTROL_TIMEOUT_MS = 120_000;

    static final String LOST_STATE = "this call ran in a fresh worker process: Python globals from earlier calls are "
            + "gone (workspace files are kept)";

    private final WorkerPool pool;
    private final String name;
    private final Path hostWorkspace;
    private final Supplier<List<ExecResult.Output>> outputs;
    private Policy policy;
    private WorkerProcess worker;
    private boolean lostState;
    private boolean closed;

    WorkerSession(WorkerPool pool, String name, Path hostWorkspace, Supplier<List<ExecResult.Output>> outputs) {
        this.pool = pool;
        this.name = name;
        this.hostWorkspace = hostWorkspace;
        this.outputs = outputs;
        this.policy = pool.policy();
    }

    public String name() {
        return name;
    }

    public synchronized Policy policy() {
        return policy;
    }

    /** Runs {@code code} in the session's worker. Never throws for anything guest code does. */
    public synchronized ExecResult exec(String code, byte[] stdin) {
        Objects.requireNonNull(code, "code");
        if (closed) {
            throw new IllegalStateException("session " + name + " is closed");
        }
        long t0 = System.nanoTime();
        List<String> notices = new ArrayList<>(1);
        WorkerProcess w;
        try {
            w = worker();
        } catch (IOException | RuntimeException e) {
            return failed(ExecResult.Status.ERROR, null,
                    new ExecResult.Error("WorkerError", "cannot prepare the session's worker: " + e.getMessage(), null),
                    t0, notices);
        }
        if (lostState) {
            notices.add(LOST_STATE);
            lostState = false;
        }
        long deadline = policy.resources().maxWallSeconds() * 1000L + DEADLINE_SLACK_MS;
        try {
            w.frame(Wire.EXEC).str(code).bytes(stdin);
            Wire.In r = w.call(deadline, "did not answer within max_wall_seconds + " + DEADLINE_SLACK_MS / 1000 + " s");
            if (r.type == Wire.RESULT) {
                ExecResult result = Wire.readResult(r);
                boolean retiring = r.bool();
                if (retiring) {
                    end(w, 10_000);
                    notices.add("the worker process was ended after this call (" + why(result)
                            + "); the next call starts a fresh one: Python globals are gone, workspace files are kept");
                }
                return result.withNotices(notices);
            }
            if (r.type == Wire.FAIL) {
                String kind = r.str();
                return failed(ExecResult.Status.ERROR, null,
                        new ExecResult.Error("WorkerError", "the worker could not run the call (" + kind + "): " + r.str(),
                                null), t0, notices);
            }
            throw new IOException("unexpected answer " + r.type + " to EXEC");
        } catch (IOException e) {
            return died(w, t0, notices, e);
        }
    }

    private static String why(ExecResult r) {
        if (r.limit() == ExecResult.Limit.MEMORY) {
            return "memory limit: its heap is released with it";
        }
        if (r.status() == ExecResult.Status.LIMIT) {
            return "the guest did not stop when the limit was hit, so its thread was still running";
        }
        return "the engine failed";
    }

    /** The call's worker ended without a result: which limit or failure that was. */
    private ExecResult died(WorkerProcess w, long t0, List<String> notices, IOException cause) {
        String killed = w.killedBecause();
        int status = end(w, 5000);
        notices.add("the session's worker process ended during this call; the next call starts a fresh one: Python "
                + "globals from earlier calls are gone (workspace files are kept)");
        var r = policy.resources();
        if (killed != null) {
            return failed(ExecResult.Status.LIMIT, ExecResult.Limit.WALL, new ExecResult.Error("LimitExceeded",
                    "wall-clock limit of " + r.maxWallSeconds() + " s exceeded (resources.max_wall_seconds): the worker "
                            + killed + " and was killed. To raise it: execution.sandbox.resources.max_wall_seconds: "
                            + r.maxWallSeconds() * 2, null), t0, notices);
        }
        if (status == WorkerProcess.EXIT_OUT_OF_MEMORY) {
            return failed(ExecResult.Status.LIMIT, ExecResult.Limit.MEMORY, new ExecResult.Error("LimitExceeded",
                    "memory limit of " + r.maxMemoryMb() + " MB exceeded (resources.max_memory_mb): the worker's heap "
                            + "ran out and the worker was ended. To raise it: execution.sandbox.resources.max_memory_mb: "
                            + r.maxMemoryMb() * 2, null), t0, notices);
        }
        return failed(ExecResult.Status.ERROR, null, new ExecResult.Error("WorkerDied",
                "the session's worker process ended during the call (" + WorkerProcess.describeExit(status) + ")"
                        + (cause.getMessage() == null || cause instanceof java.io.EOFException ? ""
                                : ": " + cause.getMessage()), null), t0, notices);
    }

    private ExecResult failed(ExecResult.Status status, ExecResult.Limit limit, ExecResult.Error error, long t0,
            List<String> notices) {
        List<ExecResult.Output> outs;
        try {
            outs = outputs.get();
        } catch (RuntimeException e) {
            outs = List.of();
        }
        return new ExecResult(status, limit, "", "", false, error, List.of(), outs, "graalpy", name,
                new ExecResult.Timing((System.nanoTime() - t0) / 1_000_000, 0), notices);
    }

    /** The session's live worker, taking and opening a fresh one when there is none. */
    private WorkerProcess worker() throws IOException {
        if (worker != null && worker.alive()) {
            return worker;
        }
        if (worker != null) {
            // Died between calls (killed from outside): its state is gone.
            end(worker, 5000);
        }
        WorkerProcess w = pool.take(policy);
        try {
            w.frame(Wire.OPEN).str(name).str(hostWorkspace.toString());
            expectOk(w.call(CONTROL_TIMEOUT_MS, "did not open the session in time"), "open the session");
        } catch (IOException | RuntimeException e) {
            w.kill("could not open the session");
            w.reap(5000);
            throw e;
        }
        worker = w;
        return w;
    }

    /**
     * Ends the session's worker: waits for it to exit (so that whatever it held on the workspace,
     * such as a native workspace mount, is released before a new worker opens the same directory),
     * kills it if it takes longer, and removes the private /tmp it may have left behind.
     */
    private int end(WorkerProcess w, long millis) {
        int status = w.reap(millis);
        if (worker == w) {
            worker = null;
            lostState = true;
        }
        removeLeftoverTmp();
        return status;
    }

    /**
     * A worker that was killed could not remove the session's private /tmp
     * ({@code .cordon-tmp-<session>-*} beside the workspace, see {@link dev.cordon.Session}).
     */
    private void removeLeftoverTmp() {
        Path parent = hostWorkspace.getParent();
        if (parent == null) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, ".cordon-tmp-" + name + "-*")) {
            for (Path p : ds) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    deleteTree(p);
                }
            }
        } catch (IOException e) {
            // best effort: a leftover temp dir is not worth failing a call for
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // best effort
        }
    }

    private static String expectOk(Wire.In r, String what) throws IOException {
        if (r.type == Wire.OK) {
            return r.str();
        }
        if (r.type == Wire.FAIL) {
            String kind = r.str();
            String msg = r.str();
            switch (kind) {
                case Wire.FAIL_ARGUMENT -> throw new IllegalArgumentException(msg);
                case Wire.FAIL_STATE -> throw new IllegalStateException("the worker could not " + what + ": " + msg);
                default -> throw new IOException(msg);
            }
        }
        throw new IOException("unexpected answer " + r.type + " (" + what + ")");
    }

    /** Copies a host file into the policy's upload dir (done by the worker, as in-process); returns the guest path. */
    public synchronized String upload(Path file) throws IOException {
        return control(w -> w.frame(Wire.UPLOAD_PATH).str(file.toAbsolutePath().toString()), "upload " + file);
    }

    /** Writes {@code content} into the upload dir as {@code fileName}; returns the guest path. */
    public synchronized String upload(String fileName, byte[] content) throws IOException {
        return control(w -> w.frame(Wire.UPLOAD_BYTES).str(fileName).bytes(content), "upload " + fileName);
    }

    /**
     * Switches the session to {@code newPolicy} from its next call (dev-mode reload). The worker
     * keeps its interpreter and globals when it can, as in-process; a worker that cannot take the
     * new policy is replaced at the next call.
     */
    public synchronized void reload(Policy newPolicy) {
        Policy old = policy;
        policy = newPolicy;
        if (worker == null || !worker.alive()) {
            return;
        }
        if (WorkerCommand.heapMb(old) != WorkerCommand.heapMb(newPolicy)) {
            // The heap bound is fixed when a JVM starts: a new max_memory_mb needs a new worker.
            end(worker, 10_000);
            return;
        }
        try {
            control(w -> w.frame(Wire.RELOAD).str(PolicyReport.of(newPolicy).effectiveYaml())
                    .str(newPolicy.source() == null ? null : newPolicy.source().toString()), "reload the policy");
        } catch (IOException | RuntimeException e) {
            if (worker != null) {
                end(worker, 10_000);
            }
        }
    }

    private interface Frame {
        void build(WorkerProcess w);
    }

    private String control(Frame frame, String what) throws IOException {
        if (closed) {
            throw new IllegalStateException("session " + name + " is closed");
        }
        WorkerProcess w = worker();
        frame.build(w);
        try {
            return expectOk(w.call(CONTROL_TIMEOUT_MS, "did not " + what + " in time"), what);
        } catch (IOException e) {
            end(w, 5000);
            throw new IOException("the session's worker ended while trying to " + what + ": " + e.getMessage(), e);
        }
    }

    /** Closes the session in its worker (files stay) and ends the worker. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        WorkerProcess w = worker;
        if (w == null) {
            return;
        }
        try {
            if (w.alive()) {
                w.frame(Wire.CLOSE);
                w.call(CONTROL_TIMEOUT_MS, "did not close the session in time");
            }
        } catch (IOException e) {
            // it ended anyway; reap below
        } finally {
            end(w, 30_000);
            lostState = false;
        }
    }
}
