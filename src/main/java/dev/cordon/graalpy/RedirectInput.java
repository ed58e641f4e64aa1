package dev.cordon.graalpy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/** The context's stdin: empty unless the caller gives input for a call. */
final class RedirectInput extends InputStream {
    private volatile InputStream source = InputStream.nullInputStream();
    private volatile boolean closedByGuest;

    void source(byte[] data) {
        this.source = data == null ? InputStream.nullInputStream() : new ByteArrayInputStream(data);
    }

    @Override
    public int read() throws IOException {
        return source.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return source.read(b, off, len);
    }

    /** Guest code closed file descriptor 0 (see {@link RedirectStream#close()}). */
    @Override
    public void close() {
        closedByGuest = true;
    }

    boolean closedByGuest() {
        return closedByGuest;
    }

    @Override
    public int available() throws IOException {
        return source.available();
    }
}
