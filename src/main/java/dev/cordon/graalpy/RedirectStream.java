package dev.cordon.graalpy;

import java.io.IOException;
import java.io.OutputStream;

/** The context's stdout or stderr: forwards to the current call's capture (or nowhere between calls). */
final class RedirectStream extends OutputStream {
    private volatile OutputStream target = OutputStream.nullOutputStream();
    private volatile boolean closedByGuest;

    void target(OutputStream t) {
        this.target = t == null ? OutputStream.nullOutputStream() : t;
    }

    @Override
    public void write(int b) throws IOException {
        target.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        target.write(b, off, len);
    }

    /**
     * Called when guest code closes file descriptor 1 or 2 ({@code os.close(1)}: GraalPy's emulated
     * backend closes the channel over this stream, and no later write of this context can reach
     * it again). Nothing is closed here; the session sees {@link #closedByGuest()} after the call
     * and gives the session a fresh interpreter, so the next call can print.
     */
    @Override
    public void close() {
        closedByGuest = true;
    }

    boolean closedByGuest() {
        return closedByGuest;
    }

    @Override
    public void flush() throws IOException {
        target.flush();
    }
}
