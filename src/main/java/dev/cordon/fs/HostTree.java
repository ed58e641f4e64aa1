package dev.cordon.fs;

import dev.cordon.fs.Stat.FileKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Host-side walks of a visible root (quota scan, fresh-call reset), done as guest code would be
 * held to: every directory is opened relative to its parent's fd with {@code O_NOFOLLOW} and
 * {@code RESOLVE_NO_SYMLINKS}, every entry is examined and removed relative to its directory fd.
 * A symlink swapped in during the walk is therefore seen as a link (and never followed), so the
 * host can never count or delete anything outside the root, whatever guest code or a native-tier
 * process does concurrently.
 *
 * <p>The walk holds one fd per level and recurses per level, on a thread with a large stack. Guest
 * code can build trees deeper than any path can address (by renaming deep trees under deep trees),
 * so: a scan deeper than {@link #MAX_DEPTH} fails (the caller then treats the quota as full), and a
 * clear hoists a subtree found at that depth up to the root and clears it from there.
 */
final class HostTree {

    static final int MAX_DEPTH = 4096;
    private static final long NO_LINKS = Sys.RESOLVE_BENEATH | Sys.RESOLVE_NO_SYMLINKS | Sys.RESOLVE_NO_MAGICLINKS;

    private HostTree() { }

    /** Names in a directory (not {@code .} or {@code ..}). */
    static List<String> list(int dirfd) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc/self/fd/" + dirfd))) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }

    /** Opens a subdirectory without following a link at any step; -1 if it is not one now. */
    static int openDir(int dirfd, String name) {
        try {
            return Sys.openat2(dirfd, name, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_NOFOLLOW, 0, NO_LINKS);
        } catch (Sys.Errno e) {
            return -1;
        }
    }

    /**
     * Bytes of the regular files under each of {@code dirfds} not in {@code exclude}, each inode counted once
     * (its key is added to {@code seen}).
     */
    static long scan(int[] dirfds, Set<FileKey> seen, Set<FileKey> exclude) {
        return deep(() -> {
            long total = 0;
            for (int fd : dirfds) {
                total += scan(fd, seen, exclude, 0);
            }
            return total;
        });
    }

    private static long scan(int dirfd, Set<FileKey> seen, Set<FileKey> exclude, int depth) {
        if (depth > MAX_DEPTH) {
            throw new UncheckedIOException(new IOException("the workspace is nested deeper than " + MAX_DEPTH + " levels"));
        }
        long total = 0;
        List<String> names;
        try {
            names = list(dirfd);
        } catch (IOException e) {
            return 0; // removed while we walked
        }
        for (String name : names) {
            Stat st;
            try {
                st = Sys.lstatAt(dirfd, name);
            } catch (Sys.Errno e) {
                continue;
            }
            if (st.isRegularFile()) {
                FileKey k = st.key();
                if (!exclude.contains(k) && seen.add(k)) {
                    total += st.size();
                }
            } else if (st.isDirectory()) {
                int fd = openDir(dirfd, name);
                if (fd >= 0) {
                    try {
                        total += scan(fd, seen, exclude, depth + 1);
                    } finally {
                        Sys.close(fd);
                    }
                }
            }
        }
        return total;
    }

    /**
     * Removes everything under {@code dirfd} except the entries whose relative path {@code keep}
     * accepts (kept whole) and the directories on the way to them ({@code onTheWay}).
     */
    static void clear(int rootfd, Predicate<String> keep, Predicate<String> onTheWay) {
        deep(() -> {
            List<String> hoisted = new ArrayList<>();
            clear(rootfd, rootfd, "", keep, onTheWay, 0, hoisted);
            while (!hoisted.isEmpty()) {
                String h = hoisted.remove(hoisted.size() - 1);
                int fd = openDir(rootfd, h);
                if (fd >= 0) {
                    try {
                        clear(rootfd, fd, "\0", rel -> false, rel -> false, 1, hoisted);
                    } finally {
                        Sys.close(fd);
                    }
                }
                try {
                    Sys.unlinkat(rootfd, h, Sys.AT_REMOVEDIR);
                } catch (Sys.Errno e) {
                    // changed under us: left for the next reset
                }
            }
            return 0L;
        });
    }

    private static final java.util.concurrent.atomic.AtomicLong HOISTS = new java.util.concurrent.atomic.AtomicLong();

    private static void clear(int rootfd, int dirfd, String prefix, Predicate<String> keep, Predicate<String> onTheWay,
            int depth, List<String> hoisted) {
        List<String> names;
        try {
            names = list(dirfd);
        } catch (IOException e) {
            return;
        }
        for (String name : names) {
            String rel = prefix.isEmpty() ? name : prefix + "/" + name;
            if (keep.test(rel)) {
                continue;
            }
            Stat st;
            try {
                st = Sys.lstatAt(dirfd, name);
            } catch (Sys.Errno e) {
                continue;
            }
            try {
                if (st.isDirectory() && depth >= MAX_DEPTH) {
                    String h = ".cordon-deep-" + Long.toHexString(System.nanoTime()) + "-" + HOISTS.incrementAndGet();
                    Sys.renameat2(dirfd, name, rootfd, h, Sys.RENAME_NOREPLACE);
                    hoisted.add(h);
                } else if (st.isDirectory()) {
                    int fd = openDir(dirfd, name);
                    if (fd >= 0) {
                        try {
                            clear(rootfd, fd, rel, keep, onTheWay, depth + 1, hoisted);
                        } finally {
                            Sys.close(fd);
                        }
                    }
                    if (!onTheWay.test(rel)) {
                        Sys.unlinkat(dirfd, name, Sys.AT_REMOVEDIR);
                    }
                } else {
                    Sys.unlinkat(dirfd, name, 0);
                }
            } catch (Sys.Errno e) {
                // Changed under us (a native-tier process may still write): the next reset or
                // rescan sees what is left; nothing here is ever outside the root.
            }
        }
    }

    private interface Walk {
        long run();
    }

    /** Runs a walk on a thread with a stack deep enough for {@link #MAX_DEPTH} levels. */
    private static long deep(Walk w) {
        long[] result = new long[1];
        RuntimeException[] failure = new RuntimeException[1];
        Thread t = Thread.ofPlatform().name("cordon-fs-walk").daemon(true).stackSize(64L << 20).unstarted(() -> {
            try {
                result[0] = w.run();
            } catch (RuntimeException e) {
                failure[0] = e;
            }
        });
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return result[0];
    }
}
