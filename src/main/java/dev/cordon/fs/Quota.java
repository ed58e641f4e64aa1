package dev.cordon.fs;

import dev.cordon.fs.Stat.FileKey;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bytes of all regular files in the workspace and {@code /tmp}, kept incrementally: a full scan
 * at creation and on {@link WorkspaceFileSystem#rescan()}, then every change guest code makes goes
 * through the gate and adjusts the count (writes reserve before they happen, truncates and
 * deletes give back).
 *
 * <p>Invariant: the count is never below the logical size of the files guest code can reach, as
 * long as only the gate changes them. Growth of one file is computed and written under that
 * file's lock (a stripe chosen by its inode), so concurrent writers of one file cannot both count
 * the same growth as someone else's; a file that is deleted while still open keeps its bytes on
 * disk, so it stays counted ("orphan") until its last channel closes.
 *
 * <p>Namespace changes (delete, rename) also take {@link #namespace} so that the entry examined
 * before {@code unlinkat}/{@code renameat} is the one removed.
 */
final class Quota {

    private static final int STRIPES = 64;

    final long max;
    private final AtomicLong used = new AtomicLong();
    /** Moves on every change made through the gate; see {@link WorkspaceFileSystem#changes()}. */
    private final AtomicLong changes = new AtomicLong();
    private final Object[] stripes = new Object[STRIPES];
    private final Map<FileKey, Open> open = new ConcurrentHashMap<>();
    final ReentrantLock namespace = new ReentrantLock();

    /** Channels open on one file; guarded by that file's stripe lock. */
    private static final class Open {
        final java.util.ArrayList<QuotaChannel> channels = new java.util.ArrayList<>(2);
        boolean orphan;
    }

    Quota(long max) {
        this.max = max;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Object();
        }
    }

    Object lock(FileKey k) {
        long h = k.ino() * 0x9E3779B97F4A7C15L ^ k.dev();
        return stripes[(int) (h >>> 58)];
    }

    long used() {
        return used.get();
    }

    /** Called before anything that may change a file, a directory entry or an attribute. */
    void changed() {
        changes.incrementAndGet();
    }

    long changes() {
        return changes.get();
    }

    /** Grants up to {@code want} bytes (all of them or what is left). */
    long reserveUpTo(long want) {
        while (true) {
            long u = used.get();
            long grant = Math.max(0, Math.min(want, max - u));
            if (grant == 0) {
                return 0;
            }
            if (used.compareAndSet(u, u + grant)) {
                return grant;
            }
        }
    }

    /** Reserves exactly {@code want} bytes or nothing. */
    boolean reserve(long want) {
        while (true) {
            long u = used.get();
            if (u + want > max) {
                return false;
            }
            if (used.compareAndSet(u, u + want)) {
                return true;
            }
        }
    }

    void release(long n) {
        if (n > 0) {
            used.addAndGet(-n);
        }
    }

    /** Caller holds {@link #lock}(k). */
    void opened(FileKey k, QuotaChannel c) {
        open.computeIfAbsent(k, x -> new Open()).channels.add(c);
    }

    /** Caller holds {@link #lock}(k); {@code size} is the file's size just before the close. */
    void closed(FileKey k, QuotaChannel c, long size) {
        Open o = open.get(k);
        if (o == null) {
            return;
        }
        o.channels.remove(c);
        if (o.channels.isEmpty()) {
            open.remove(k);
            if (o.orphan) {
                release(size);
            }
        }
    }

    /**
     * A name of a regular file was removed (unlink, or replaced by a rename). Caller holds
     * {@link #lock}(k); {@code nlink} and {@code size} were read under it, before the removal.
     */
    void unlinked(FileKey k, long size, int nlink) {
        if (nlink > 1) {
            return; // another name still holds the bytes (only hosts make such files: the gate refuses hard links)
        }
        Open o = open.get(k);
        if (o != null && !o.channels.isEmpty()) {
            o.orphan = true;
        } else {
            release(size);
        }
    }

    /**
     * Replaces the count after a scan: {@code scanned} bytes of the files found, plus the bytes of
     * open files that are no longer found anywhere (deleted while open, e.g. by the fresh-call
     * reset), which from now on count as orphans.
     */
    void reset(long scanned, java.util.Set<FileKey> seen) {
        long orphans = 0;
        for (Map.Entry<FileKey, Open> e : open.entrySet()) {
            FileKey k = e.getKey();
            synchronized (lock(k)) {
                Open o = open.get(k);
                if (o == null) {
                    continue;
                }
                if (seen.contains(k)) {
                    o.orphan = false;
                } else {
                    o.orphan = true;
                    try {
                        orphans += o.channels.get(0).sizeUnchecked();
                    } catch (IOException ex) {
                        // a channel closed under us: its close settles the count
                    }
                }
            }
        }
        used.set(scanned + orphans);
    }
}
