package dev.cordon.worker;

import dev.cordon.ExecResult;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The host-worker protocol: frames on the worker's stdin (host to worker) and stdout (worker to
 * host). A frame is a 4-byte big-endian length {@code n}, then {@code n} bytes: one type byte and
 * the payload. Payload fields are written in a fixed order per type: strings and byte arrays as a
 * 4-byte length ({@code -1} for null) and the bytes (strings in UTF-8), ints and longs big-endian,
 * booleans as one byte.
 *
 * <p>Binary and hand-written rather than JSON: a call is one small frame each way, and encoding an
 * {@link ExecResult} this way costs a few microseconds where a JSON mapper costs tens (the added
 * latency budget of the worker tier is 100 µs per call; docs/isolation.md has the measurements).
 * Strictly request-response: the host sends one frame and reads exactly one answer, so a stream
 * that ever goes out of step is a protocol error and the worker is replaced.
 */
final class Wire {

    private Wire() { }

    /** Bound on one frame: an upload or a result with 1 GiB of output is not a call, it is a bug. */
    static final int MAX_FRAME = 1 << 30;

    // host -> worker
    static final byte HELLO = 1;        // policyYaml, policySource, auditJsonl, workspaceRoot
    static final byte OPEN = 2;         // session name, host workspace
    static final byte EXEC = 3;         // code, stdin
    static final byte UPLOAD_PATH = 4;  // host path
    static final byte UPLOAD_BYTES = 5; // file name, bytes
    static final byte RELOAD = 6;       // policyYaml, policySource
    static final byte CLOSE = 7;        // (nothing)

    // worker -> host
    static final byte READY = 64;       // pid, warm-up millis
    static final byte OK = 65;          // text (may be null)
    static final byte RESULT = 66;      // ExecResult, retiring flag
    static final byte FAIL = 67;        // kind, message

    /** {@link #FAIL} kinds: which exception the host rethrows. */
    static final String FAIL_IO = "io";
    static final String FAIL_ARGUMENT = "argument";
    static final String FAIL_STATE = "state";

    /** Builds one frame's payload. Not thread-safe; one per frame or reused by one thread. */
    static final class Out {
        private byte[] buf = new byte[256];
        private int len;

        Out reset(byte type) {
            len = 0;
            ensure(1);
            buf[len++] = type;
            return this;
        }

        private void ensure(int n) {
            if (len + n > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
            }
        }

        Out i32(int v) {
            ensure(4);
            buf[len++] = (byte) (v >>> 24);
            buf[len++] = (byte) (v >>> 16);
            buf[len++] = (byte) (v >>> 8);
            buf[len++] = (byte) v;
            return this;
        }

        Out i64(long v) {
            i32((int) (v >>> 32));
            return i32((int) v);
        }

        Out bool(boolean b) {
            ensure(1);
            buf[len++] = (byte) (b ? 1 : 0);
            return this;
        }

        Out bytes(byte[] b) {
            if (b == null) {
                return i32(-1);
            }
            i32(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, len, b.length);
            len += b.length;
            return this;
        }

        Out str(String s) {
            return bytes(s == null ? null : s.getBytes(StandardCharsets.UTF_8));
        }

        Out strs(List<String> l) {
            i32(l.size());
            for (String s : l) {
                str(s);
            }
            return this;
        }

        /** Writes the frame (length prefix and payload) and flushes. */
        void send(DataOutputStream out) throws IOException {
            if (len > MAX_FRAME) {
                throw new IOException("frame of " + len + " bytes exceeds the protocol bound of " + MAX_FRAME);
            }
            out.writeInt(len);
            out.write(buf, 0, len);
            out.flush();
        }
    }

    /** One received frame. */
    static final class In {
        final byte type;
        private final byte[] buf;
        private int pos;

        private In(byte[] buf) {
            this.buf = buf;
            this.type = buf[0];
            this.pos = 1;
        }

        /** Reads one frame; {@link EOFException} at a clean end of stream. */
        static In read(DataInputStream in) throws IOException {
            int n = in.readInt();
            if (n < 1 || n > MAX_FRAME) {
                throw new IOException("bad frame length " + n + " (the stream is out of step)");
            }
            byte[] b = new byte[n];
            in.readFully(b);
            return new In(b);
        }

        private void need(int n) throws IOException {
            if (n < 0 || pos + n > buf.length) {
                throw new IOException("truncated frame of type " + type);
            }
        }

        int i32() throws IOException {
            need(4);
            int v = ((buf[pos] & 0xff) << 24) | ((buf[pos + 1] & 0xff) << 16) | ((buf[pos + 2] & 0xff) << 8)
                    | (buf[pos + 3] & 0xff);
            pos += 4;
            return v;
        }

        long i64() throws IOException {
            long hi = i32();
            return (hi << 32) | (i32() & 0xffffffffL);
        }

        boolean bool() throws IOException {
            need(1);
            return buf[pos++] != 0;
        }

        byte[] bytes() throws IOException {
            int n = i32();
            if (n == -1) {
                return null;
            }
            need(n);
            byte[] b = java.util.Arrays.copyOfRange(buf, pos, pos + n);
            pos += n;
            return b;
        }

        String str() throws IOException {
            int n = i32();
            if (n == -1) {
                return null;
            }
            need(n);
            String s = new String(buf, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }

        List<String> strs() throws IOException {
            int n = i32();
            need(n < 0 ? -1 : 0);
            List<String> l = new ArrayList<>(Math.min(n, 64));
            for (int i = 0; i < n; i++) {
                l.add(str());
            }
            return l;
        }
    }

    static void writeResult(Out o, ExecResult r) {
        o.str(r.status().name());
        o.str(r.limit() == null ? null : r.limit().name());
        o.str(r.stdout()).str(r.stderr()).bool(r.stdoutTruncated());
        ExecResult.Error e = r.error();
        o.bool(e != null);
        if (e != null) {
            o.str(e.type()).str(e.message()).str(e.traceback());
        }
        o.i32(r.blocked().size());
        for (ExecResult.Blocked b : r.blocked()) {
            o.str(b.policy()).str(b.operation()).str(b.target()).str(b.reason()).str(b.fix());
        }
        o.i32(r.outputs().size());
        for (ExecResult.Output out : r.outputs()) {
            o.str(out.path()).i64(out.bytes());
        }
        o.str(r.engine()).str(r.session());
        o.i64(r.timing().wallMs()).i64(r.timing().cpuMs());
        o.strs(r.notices());
    }

    static ExecResult readResult(In in) throws IOException {
        try {
            ExecResult.Status status = ExecResult.Status.valueOf(in.str());
            String limit = in.str();
            String stdout = in.str();
            String stderr = in.str();
            boolean truncated = in.bool();
            ExecResult.Error error = in.bool() ? new ExecResult.Error(in.str(), in.str(), in.str()) : null;
            int nb = in.i32();
            List<ExecResult.Blocked> blocked = new ArrayList<>(Math.max(0, Math.min(nb, 1024)));
            for (int i = 0; i < nb; i++) {
                blocked.add(new ExecResult.Blocked(in.str(), in.str(), in.str(), in.str(), in.str()));
            }
            int no = in.i32();
            List<ExecResult.Output> outputs = new ArrayList<>(Math.max(0, Math.min(no, 1024)));
            for (int i = 0; i < no; i++) {
                outputs.add(new ExecResult.Output(in.str(), in.i64()));
            }
            String engine = in.str();
            String session = in.str();
            ExecResult.Timing timing = new ExecResult.Timing(in.i64(), in.i64());
            List<String> notices = in.strs();
            return new ExecResult(status, limit == null ? null : ExecResult.Limit.valueOf(limit), stdout, stderr,
                    truncated, error, blocked, outputs, engine, session, timing, notices);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IOException("malformed result frame: " + e, e);
        }
    }
}
