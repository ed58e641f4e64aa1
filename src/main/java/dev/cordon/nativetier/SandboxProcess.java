package dev.cordon.nativetier;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The {@link Process} GraalPy gets for a sandboxed command. {@link #destroy()} kills the whole
 * sandbox, not just the outer bwrap process; output the guest asked to "inherit" is pumped into
 * the session's streams (never the JVM's own stdout); {@code onExit} hooks release the session's
 * process slot.
 */
final class SandboxProcess extends Process {

    private final Sandboxed box;
    private final Process p;
    private final InputStream stdout;
    private final InputStream stderr;
    private final List<Thread> pumps;

    private SandboxProcess(Sandboxed box, InputStream stdout, InputStream stderr, List<Thread> pumps) {
        this.box = box;
        this.p = box.process;
        this.stdout = stdout;
        this.stderr = stderr;
        this.pumps = pumps;
    }

    /**
     * @param inheritOut where stdout goes when the guest asked to inherit it, or null (then it is
     *                   read and dropped, so the command never blocks on a full pipe)
     */
    static SandboxProcess of(Sandboxed box, boolean pumpOut, Supplier<OutputStream> inheritOut, boolean pumpErr,
                             Supplier<OutputStream> inheritErr) {
        Process p = box.process;
        InputStream out = p.getInputStream();
        InputStream err = p.getErrorStream();
        java.util.ArrayList<Thread> pumps = new java.util.ArrayList<>();
        if (pumpOut) {
            pumps.add(pump("cordon-stdout-" + p.pid(), out, inheritOut == null ? null : inheritOut.get()));
            out = InputStream.nullInputStream();
        }
        if (pumpErr) {
            pumps.add(pump("cordon-stderr-" + p.pid(), err, inheritErr == null ? null : inheritErr.get()));
            err = InputStream.nullInputStream();
        }
        return new SandboxProcess(box, out, err, List.copyOf(pumps));
    }

    private static Thread pump(String name, InputStream in, OutputStream target) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (target != null) {
                        try {
                            target.write(buf, 0, n);
                            target.flush();
                        } catch (IOException e) {
                            // the session's stream is gone: keep draining so the command can finish
                        }
                    }
                }
            } catch (IOException e) {
                // pipe closed
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    Sandboxed sandbox() {
        return box;
    }

    @Override
    public OutputStream getOutputStream() {
        return p.getOutputStream();
    }

    @Override
    public InputStream getInputStream() {
        return stdout;
    }

    @Override
    public InputStream getErrorStream() {
        return stderr;
    }

    @Override
    public int waitFor() throws InterruptedException {
        int rc = p.waitFor();
        joinPumps();
        return rc;
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        boolean done = p.waitFor(timeout, unit);
        if (done) {
            joinPumps();
        }
        return done;
    }

    private void joinPumps() throws InterruptedException {
        for (Thread t : pumps) {
            t.join(2000);
        }
    }

    @Override
    public int exitValue() {
        return p.exitValue();
    }

    @Override
    public void destroy() {
        box.kill();
    }

    @Override
    public Process destroyForcibly() {
        box.kill();
        return this;
    }

    @Override
    public boolean supportsNormalTermination() {
        return false;
    }

    @Override
    public boolean isAlive() {
        return p.isAlive();
    }

    @Override
    public long pid() {
        return p.pid();
    }

    @Override
    public CompletableFuture<Process> onExit() {
        return p.onExit().thenApply(x -> this);
    }

    @Override
    public ProcessHandle toHandle() {
        return p.toHandle();
    }
}
