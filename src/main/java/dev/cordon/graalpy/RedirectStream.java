package dev.cordon.graalpy;

import java.io.IOException;
import java.io.OutputStream;

/** The context's stdout or stderr: forwards to the current call's capture (or nowhere between calls). */
final class RedirectStream extends OutputStream {
    private volatile OutputStream target = OutputStream.nullOutputStream();

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

    @Override
    public void flush() throws IOException {
        target.flush();
    }
}
