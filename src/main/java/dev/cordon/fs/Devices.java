package dev.cordon.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;

/**
 * The harmless devices every sandbox offers ({@code bubblewrap --dev} has the same ones), served
 * by the JVM, never by opening the host's device nodes: {@code /dev/null} (subprocess.DEVNULL,
 * silenced loggers), {@code /dev/zero}, {@code /dev/urandom} and {@code /dev/random}.
 */
final class Devices {

    enum Kind { NULL, ZERO, RANDOM }

    private static final Map<String, Kind> DEVICES = Map.of(
            "/dev/null", Kind.NULL, "/dev/zero", Kind.ZERO, "/dev/urandom", Kind.RANDOM, "/dev/random", Kind.RANDOM);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Devices() { }

    static Kind of(String guestPath) {
        return DEVICES.get(guestPath);
    }

    /**
     * {@code /dev/stdin}, {@code /dev/stdout}, {@code /dev/stderr}: GraalPy's emulated backend
     * answers {@code os.fstat(0..2)} (and {@code open(1, 'w')}, which checks the fd) by stat-ing
     * these paths. The session's streams are the host's pipes to the call's capture, not a host
     * file; stat only (opening them by path stays outside the workspace).
     */
    static boolean isStdio(String guestPath) {
        return "/dev/stdout".equals(guestPath) || "/dev/stderr".equals(guestPath) || "/dev/stdin".equals(guestPath);
    }

    /**
     * What a guest sees for its standard streams: a character device that is not a terminal
     * ({@code /dev/null}'s attributes), never the host JVM's own stdout (a terminal, a file or a
     * pipe of the host).
     */
    static Map<String, Object> stdioAttributes(String attributes) throws IOException {
        return attributes("/dev/null", attributes);
    }

    /** The host device's attributes (a character device: its metadata reveals nothing). */
    static Map<String, Object> attributes(String guestPath, String attributes) throws IOException {
        return Files.readAttributes(Path.of(guestPath), attributes, LinkOption.NOFOLLOW_LINKS);
    }

    static SeekableByteChannel open(Kind kind) {
        return new SeekableByteChannel() {
            private volatile boolean open = true;

            @Override
            public int read(ByteBuffer dst) throws IOException {
                check();
                if (kind == Kind.NULL) {
                    return -1;
                }
                int n = dst.remaining();
                if (kind == Kind.ZERO) {
                    for (int i = 0; i < n; i++) {
                        dst.put((byte) 0);
                    }
                } else {
                    byte[] b = new byte[Math.min(n, 1 << 20)];
                    RANDOM.nextBytes(b);
                    dst.put(b);
                    n = b.length;
                }
                return n;
            }

            @Override
            public int write(ByteBuffer src) throws IOException {
                check();
                int n = src.remaining();
                src.position(src.limit());
                return n;
            }

            @Override
            public long position() throws IOException {
                check();
                return 0;
            }

            @Override
            public SeekableByteChannel position(long newPosition) throws IOException {
                check();
                return this;
            }

            @Override
            public long size() throws IOException {
                check();
                return 0;
            }

            @Override
            public SeekableByteChannel truncate(long size) throws IOException {
                check();
                return this;
            }

            @Override
            public boolean isOpen() {
                return open;
            }

            @Override
            public void close() {
                open = false;
            }

            private void check() throws IOException {
                if (!open) {
                    throw new ClosedChannelException();
                }
            }
        };
    }
}
