package dev.cordon.nativetier;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One call's stdout and stderr from the worker's pipes, under one byte budget
 * ({@code max_output_size_mb} counts both, as in the in-JVM tier). A reader thread per stream
 * feeds bytes in; the call's end on each stream is a random marker the worker writes after the
 * call, so output a slow pipe delivers late is still counted to the right call. Bytes outside a
 * call (background threads between calls) and past the budget are dropped: the host heap never
 * holds more than the budget.
 */
final class OutputCapture {

    static final String TRUNCATED = "\n[cordon: output truncated at max_output_size_mb]\n";

    private final Stream out = new Stream();
    private final Stream err = new Stream();
    private long budget;
    private long used;
    private volatile boolean overflowed;

    /** Starts reader threads on the worker's two streams. */
    void attach(InputStream stdout, InputStream stderr, String name) {
        start(stdout, out, name + "-stdout");
        start(stderr, err, name + "-stderr");
    }

    private void start(InputStream in, Stream s, String name) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    s.feed(buf, n);
                }
            } catch (IOException e) {
                // the worker is gone
            }
            s.closed();
        }, name);
        t.setDaemon(true);
        t.start();
    }

    synchronized void begin(byte[] marker, long budgetBytes) {
        this.budget = budgetBytes;
        this.used = 0;
        this.overflowed = false;
        out.begin(marker);
        err.begin(marker);
    }

    boolean overflowed() {
        return overflowed;
    }

    /** Waits until both streams showed the marker (or closed); false on timeout. */
    boolean awaitEnd(long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        return out.await(deadline) & err.await(deadline);
    }

    /** Ends the call: no more bytes are counted to it. */
    void end() {
        out.begin(null);
        err.begin(null);
    }

    String stdout() {
        String t = out.text();
        return overflowed ? t + TRUNCATED : t;
    }

    String stderr() {
        return err.text();
    }

    private synchronized int take(int n) {
        long room = budget - used;
        int k = (int) Math.max(0, Math.min(room, n));
        used += k;
        if (k < n) {
            overflowed = true;
        }
        return k;
    }

    private final class Stream {
        private byte[] marker;
        private byte[] pending = new byte[0]; // held back: may be the start of the marker
        private ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private boolean seen;
        private boolean closed;
        private String lastText = "";

        synchronized void begin(byte[] m) {
            if (m == null && marker != null) {
                lastText = buf.toString(StandardCharsets.UTF_8);
            }
            marker = m;
            pending = new byte[0];
            buf = new ByteArrayOutputStream();
            seen = false;
            notifyAll();
        }

        synchronized void feed(byte[] data, int n) {
            if (marker == null || seen) {
                return;
            }
            byte[] all = new byte[pending.length + n];
            System.arraycopy(pending, 0, all, 0, pending.length);
            System.arraycopy(data, 0, all, pending.length, n);
            int idx = indexOf(all, marker);
            if (idx >= 0) {
                commit(all, idx);
                pending = new byte[0];
                seen = true;
                notifyAll();
                return;
            }
            int keep = Math.min(all.length, marker.length - 1);
            commit(all, all.length - keep);
            pending = Arrays.copyOfRange(all, all.length - keep, all.length);
        }

        private void commit(byte[] b, int n) {
            int k = take(n);
            buf.write(b, 0, k);
        }

        synchronized void closed() {
            closed = true;
            if (marker != null && !seen && pending.length > 0) {
                commit(pending, pending.length);
                pending = new byte[0];
            }
            notifyAll();
        }

        synchronized boolean await(long deadline) {
            while (!seen && !closed) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return false;
                }
                try {
                    wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }

        synchronized String text() {
            return marker == null ? lastText : buf.toString(StandardCharsets.UTF_8);
        }
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
