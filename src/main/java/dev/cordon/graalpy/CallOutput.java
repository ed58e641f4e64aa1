package dev.cordon.graalpy;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Captures a call's stdout and stderr with one shared byte budget ({@code max_output_size_mb} counts
 * both). Bytes past the budget are dropped, the overflow is flagged, and the watchdog ends the call
 * with status {@code limit}/{@code output}. The host heap never holds more than the budget.
 */
final class CallOutput {

    static final String MARKER = "\n[cordon: output truncated at max_output_size_mb]\n";

    private final long budget;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private long used;
    private volatile boolean overflowed;

    CallOutput(long budget) {
        this.budget = budget;
    }

    OutputStream stdout() {
        return new Sink(out);
    }

    OutputStream stderr() {
        return new Sink(err);
    }

    boolean overflowed() {
        return overflowed;
    }

    synchronized String stdoutText() {
        return text(out);
    }

    synchronized String stderrText() {
        return text(err);
    }

    private String text(ByteArrayOutputStream s) {
        String t = s.toString(StandardCharsets.UTF_8);
        return overflowed && s == out ? t + MARKER : t;
    }

    private final class Sink extends OutputStream {
        private final ByteArrayOutputStream target;

        Sink(ByteArrayOutputStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            synchronized (CallOutput.this) {
                long room = budget - used;
                int n = (int) Math.max(0, Math.min(room, len));
                target.write(b, off, n);
                used += n;
                if (n < len) {
                    overflowed = true;
                }
            }
        }
    }
}
