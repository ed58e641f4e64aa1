package dev.cordon.nativetier;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

/**
 * Compiles a {@link SeccompProfile} to a classic BPF program with libseccomp through JNA, in the
 * JVM, before any process starts (prepare, then apply: nsjail compiles before fork). The program is
 * what {@code bwrap --seccomp FD} loads; it is built once per JVM and variant.
 *
 * <p>{@code seccomp_export_bpf} writes to a file descriptor; a memfd keeps the bytes off the disk
 * until the launcher stores them.
 */
final class Seccomp {

    private static final int SCMP_ACT_ALLOW = 0x7fff0000;
    private static final int SCMP_ACT_ERRNO = 0x00050000;
    private static final int SCMP_CMP_MASKED_EQ = 7;
    /** {@code struct scmp_arg_cmp}: unsigned arg; enum op; uint64 datum_a; uint64 datum_b. */
    private static final int ARG_CMP_SIZE = 24;

    interface LibSeccomp extends Library {
        Pointer seccomp_init(int defAction);

        int seccomp_rule_add_exact_array(Pointer ctx, int action, int syscall, int argCnt, Pointer args);

        int seccomp_syscall_resolve_name(String name);

        int seccomp_export_bpf(Pointer ctx, int fd);

        void seccomp_release(Pointer ctx);

        Pointer seccomp_version();
    }

    interface LibC extends Library {
        int memfd_create(String name, int flags);

        int close(int fd);
    }

    private static volatile LibSeccomp lib;
    private static volatile LibC libc;

    private Seccomp() { }

    /** Loads libseccomp, or throws {@link UnsatisfiedLinkError} naming what is missing. */
    static LibSeccomp lib() {
        LibSeccomp l = lib;
        if (l == null) {
            synchronized (Seccomp.class) {
                if (lib == null) {
                    UnsatisfiedLinkError first = null;
                    // Debian ships only the versioned libseccomp.so.2 unless libseccomp-dev is installed.
                    for (String name : new String[] {"seccomp", "libseccomp.so.2"}) {
                        try {
                            lib = Native.load(name, LibSeccomp.class);
                            break;
                        } catch (UnsatisfiedLinkError e) {
                            first = first == null ? e : first;
                        }
                    }
                    if (lib == null) {
                        throw first;
                    }
                    libc = Native.load("c", LibC.class);
                }
                l = lib;
            }
        }
        return l;
    }

    /** {@code major.minor.micro} of the loaded libseccomp. */
    static String version() {
        Pointer v = lib().seccomp_version();
        return v.getInt(0) + "." + v.getInt(4) + "." + v.getInt(8);
    }

    /** The BPF program for {@code profile}: {@code struct sock_filter[]} in native byte order. */
    static byte[] compile(SeccompProfile profile) {
        LibSeccomp l = lib();
        Pointer ctx = l.seccomp_init(SCMP_ACT_ALLOW);
        if (ctx == null) {
            throw new IllegalStateException("seccomp_init failed");
        }
        try {
            for (SeccompProfile.Rule r : profile.rules()) {
                int nr = l.seccomp_syscall_resolve_name(r.syscall());
                if (nr < 0) {
                    throw new IllegalArgumentException("seccomp profile " + profile.name() + ": libseccomp "
                            + version() + " does not know syscall " + r.syscall());
                }
                Memory args = null;
                if (!r.args().isEmpty()) {
                    args = new Memory((long) ARG_CMP_SIZE * r.args().size());
                    args.clear();
                    for (int i = 0; i < r.args().size(); i++) {
                        SeccompProfile.ArgCmp a = r.args().get(i);
                        long off = (long) i * ARG_CMP_SIZE;
                        args.setInt(off, a.index());
                        args.setInt(off + 4, SCMP_CMP_MASKED_EQ);
                        args.setLong(off + 8, a.mask());
                        args.setLong(off + 16, a.value());
                    }
                }
                // _exact: fail rather than let libseccomp silently rewrite a rule it cannot express.
                int rc = l.seccomp_rule_add_exact_array(ctx, SCMP_ACT_ERRNO | (r.errno() & 0xffff), nr,
                        r.args().size(), args);
                if (rc != 0) {
                    throw new IllegalArgumentException("seccomp profile " + profile.name() + ": rule '" + r
                            + "' rejected by libseccomp (" + rc + ")");
                }
            }
            int fd = libc.memfd_create("cordon-seccomp", 0);
            if (fd < 0) {
                throw new IllegalStateException("memfd_create failed (errno " + Native.getLastError() + ")");
            }
            try {
                int rc = l.seccomp_export_bpf(ctx, fd);
                if (rc != 0) {
                    throw new IllegalStateException("seccomp_export_bpf failed (" + rc + ")");
                }
                try (InputStream in = new FileInputStream("/proc/self/fd/" + fd)) {
                    // A fresh open of the memfd starts at offset 0, whatever export left.
                    byte[] bpf = in.readAllBytes();
                    if (bpf.length == 0 || bpf.length % 8 != 0) {
                        throw new IllegalStateException("seccomp_export_bpf wrote " + bpf.length + " bytes");
                    }
                    return bpf;
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the exported seccomp program", e);
            } finally {
                libc.close(fd);
            }
        } finally {
            l.seccomp_release(ctx);
        }
    }

    /**
     * A stable text form of a program, one instruction a line ({@code code jt jf k} in hex), for the
     * golden files: diffs show which instructions changed.
     */
    static String disassemble(byte[] bpf) {
        ByteBuffer b = ByteBuffer.wrap(bpf).order(ByteOrder.nativeOrder());
        StringBuilder s = new StringBuilder();
        HexFormat hex = HexFormat.of();
        int n = 0;
        while (b.remaining() >= 8) {
            int code = Short.toUnsignedInt(b.getShort());
            int jt = Byte.toUnsignedInt(b.get());
            int jf = Byte.toUnsignedInt(b.get());
            long k = Integer.toUnsignedLong(b.getInt());
            s.append(String.format("%04d %s %s %s %s%n", n++, hex.toHexDigits((short) code), hex.toHexDigits((byte) jt),
                    hex.toHexDigits((byte) jf), hex.toHexDigits((int) k)));
        }
        return s.toString();
    }
}
