package dev.cordon.nativetier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * Dedicated host uids for sandboxes when the JVM runs as root (DESIGN.md section 4: a root-started
 * sandbox maps to host root and RLIMIT_NPROC is ignored for it).
 *
 * <p>Each session leases one uid (and the gid of the same number) from a fixed range that no
 * account uses, {@code [base, base+count)}, default 2100000000..+4096: far above login uids,
 * Debian's system ranges and the usual /etc/subuid ranges (100000 + 65536 n). No /etc/passwd entry
 * is needed: setpriv takes numbers, and the sandbox gets a stub passwd line. One uid per session
 * keeps sessions' processes apart (signals, /proc, RLIMIT_NPROC counts) and gives the session's
 * files one owner. A lease is a lock file held open ({@value #LOCK_DIR}{@code /<uid>.lock}: one
 * place per host, whatever state dir a JVM uses), so concurrent JVMs never share a uid; the kernel
 * drops the lock if the JVM dies.
 */
final class SandboxUids {

    static final String LOCK_DIR = "/run/cordon-uids";
    /** Leased in this JVM, across every tier configuration. */
    private static final Set<Long> IN_USE = new HashSet<>();

    private final Path dir;
    private final long base;
    private final int count;

    SandboxUids(long base, int count) {
        this.dir = Path.of(LOCK_DIR);
        this.base = base;
        this.count = count;
    }

    /** A held uid; {@link #close()} gives it back. */
    final class Lease implements AutoCloseable {
        final long uid;
        private final FileChannel channel;
        private final FileLock lock;

        private Lease(long uid, FileChannel channel, FileLock lock) {
            this.uid = uid;
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void close() {
            try {
                lock.release();
                channel.close();
            } catch (IOException e) {
                // the lock goes with the channel anyway
            }
            synchronized (IN_USE) {
                IN_USE.remove(uid);
            }
        }
    }

    Lease lease() throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        synchronized (IN_USE) {
            for (int i = 0; i < count; i++) {
                long uid = base + i;
                if (IN_USE.contains(uid)) {
                    continue;
                }
                FileChannel ch = FileChannel.open(dir.resolve(uid + ".lock"), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
                FileLock lock;
                try {
                    lock = ch.tryLock();
                } catch (java.nio.channels.OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    ch.close();
                    continue;
                }
                IN_USE.add(uid);
                return new Lease(uid, ch, lock);
            }
        }
        throw new IOException("all " + count + " sandbox uids from " + base + " are in use (cordon.native.uidCount)");
    }
}
