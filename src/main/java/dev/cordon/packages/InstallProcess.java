package dev.cordon.packages;

import dev.cordon.nativetier.PipService;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * The {@link Process} GraalPy gets for a pip command Cordon's installer served: it has already
 * finished, its output is what the installer reported. Output the guest asked to inherit goes to
 * the session's streams (the current call's stdout/stderr), as for sandboxed commands.
 */
final class InstallProcess extends Process {

    private final int exit;
    private final InputStream stdout;
    private final InputStream stderr;

    private InstallProcess(int exit, InputStream stdout, InputStream stderr) {
        this.exit = exit;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    static InstallProcess of(PipService.Result r, ProcessHandler.ProcessCommand cmd, Supplier<OutputStream> inheritOut,
            Supplier<OutputStream> inheritErr) {
        byte[] out = r.stdout().getBytes(StandardCharsets.UTF_8);
        byte[] err = r.stderr().getBytes(StandardCharsets.UTF_8);
        if (cmd.isRedirectErrorStream()) {
            // 2>&1: pip writes its errors last, so appending keeps the order a reader would see
            byte[] both = new byte[out.length + err.length];
            System.arraycopy(out, 0, both, 0, out.length);
            System.arraycopy(err, 0, both, out.length, err.length);
            out = both;
            err = new byte[0];
        }
        InputStream o = deliver(out, cmd.getOutputRedirect(), inheritOut);
        InputStream e = cmd.isRedirectErrorStream() ? InputStream.nullInputStream()
                : deliver(err, cmd.getErrorRedirect(), inheritErr);
        return new InstallProcess(r.exitCode(), o, e);
    }

    private static InputStream deliver(byte[] data, ProcessHandler.Redirect redirect, Supplier<OutputStream> inherit) {
        if (redirect == null || redirect.equals(ProcessHandler.Redirect.PIPE)) {
            return new ByteArrayInputStream(data);
        }
        OutputStream target = redirect.equals(ProcessHandler.Redirect.INHERIT)
                ? (inherit == null ? null : inherit.get()) : redirect.getOutputStream();
        if (target != null && data.length > 0) {
            try {
                target.write(data);
                target.flush();
            } catch (IOException e) {
                // the session's stream is gone; the exit status still tells the guest what happened
            }
        }
        return InputStream.nullInputStream();
    }

    @Override
    public OutputStream getOutputStream() {
        return OutputStream.nullOutputStream();
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
    public int waitFor() {
        return exit;
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) {
        return true;
    }

    @Override
    public int exitValue() {
        return exit;
    }

    @Override
    public void destroy() {
        // already finished
    }

    @Override
    public boolean isAlive() {
        return false;
    }

    @Override
    public CompletableFuture<Process> onExit() {
        return CompletableFuture.completedFuture(this);
    }

    @Override
    public long pid() {
        // No process ran: the install happened in the host. pid() has no meaningful answer.
        throw new UnsupportedOperationException("Cordon's installer ran on the host; there is no pid");
    }
}
