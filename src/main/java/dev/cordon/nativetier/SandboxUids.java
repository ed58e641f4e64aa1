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
 * files one owner. A lease is a lock file held open ({@code <state>/uids/<uid>.lock}), so
 * concurrent JVMs on one host never share a uid; the kernel drops the lock if the JVM dies.
 */
final class SandboxUids {

    private final Path dir;
    private final long base;
    private final int count;
    private final Set<Long> inUse = new HashSet<>();

    SandboxUids(Path stateDir, long base, int count) {
        this.dir = stateDir.resolve("uids");
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
            synchronized (SandboxUids.this) {
                inUse.remove(uid);
            }
        }
    }

    synchronized Lease lease() throws IOException {
        Files.createDirectories(dir);
        for (int i = 0; i < count; i++) {
            long uid = base + i;
            if (inUse.contains(uid)) {
                continue;
            }
            FileChannel ch = FileChannel.open(dir.resolve(uid + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock = ch.tryLock();
            if (lock == null) {
                ch.close();
                continue;
            }
            inUse.add(uid);
            return new Lease(uid, ch, lock);
        }
        throw new IOException("all " + count + " sandbox uids from " + base + " are in use (cordon.native.uidCount)");
    }
}
