package dev.cordon.fs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One {@code struct statx}, and its rendering as the attribute map of
 * {@link org.graalvm.polyglot.io.FileSystem#readAttributes} (views {@code basic}, {@code posix},
 * {@code unix}; the value types Truffle's {@code TruffleFile} attribute descriptors expect).
 */
record Stat(int mode, int nlink, int uid, int gid, long ino, long dev, long rdev, long size,
        long atimeSec, int atimeNsec, long btimeSec, int btimeNsec, long ctimeSec, int ctimeNsec,
        long mtimeSec, int mtimeNsec) {

    // Offsets in struct statx (linux/stat.h); the layout is the same on every architecture.
    static Stat of(MemorySegment s) {
        int mode = Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT, 28));
        return new Stat(mode,
                s.get(ValueLayout.JAVA_INT, 16),
                s.get(ValueLayout.JAVA_INT, 20),
                s.get(ValueLayout.JAVA_INT, 24),
                s.get(ValueLayout.JAVA_LONG, 32),
                makedev(s.get(ValueLayout.JAVA_INT, 136), s.get(ValueLayout.JAVA_INT, 140)),
                makedev(s.get(ValueLayout.JAVA_INT, 128), s.get(ValueLayout.JAVA_INT, 132)),
                s.get(ValueLayout.JAVA_LONG, 40),
                s.get(ValueLayout.JAVA_LONG, 64), s.get(ValueLayout.JAVA_INT, 72),
                s.get(ValueLayout.JAVA_LONG, 80), s.get(ValueLayout.JAVA_INT, 88),
                s.get(ValueLayout.JAVA_LONG, 96), s.get(ValueLayout.JAVA_INT, 104),
                s.get(ValueLayout.JAVA_LONG, 112), s.get(ValueLayout.JAVA_INT, 120));
    }

    /** glibc's {@code gnu_dev_makedev}, so {@code st_dev} matches what {@code stat(2)} reports. */
    private static long makedev(int major, int minor) {
        long ma = Integer.toUnsignedLong(major);
        long mi = Integer.toUnsignedLong(minor);
        return ((ma & 0xfffff000L) << 32) | ((ma & 0xfffL) << 8) | ((mi & 0xffffff00L) << 12) | (mi & 0xffL);
    }

    boolean isDirectory() {
        return (mode & Sys.S_IFMT) == Sys.S_IFDIR;
    }

    boolean isRegularFile() {
        return (mode & Sys.S_IFMT) == Sys.S_IFREG;
    }

    boolean isSymbolicLink() {
        return (mode & Sys.S_IFMT) == Sys.S_IFLNK;
    }

    FileKey key() {
        return new FileKey(dev, ino);
    }

    /** Identity of a file on the host: the quota and the protected-file check use it, never a path. */
    record FileKey(long dev, long ino) { }

    private static FileTime time(long sec, int nsec) {
        return FileTime.from(sec * 1_000_000_000L + nsec, TimeUnit.NANOSECONDS);
    }

    Set<PosixFilePermission> permissions() {
        Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] all = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) {
                p.add(all[i]);
            }
        }
        return p;
    }

    /** A numeric user or group: no name lookup (there is no passwd database in the sandbox). */
    record Principal(int id) implements GroupPrincipal {
        @Override
        public String getName() {
            return Integer.toString(id);
        }
    }

    private static final Map<String, String[]> VIEWS = Map.of(
            "basic", new String[] {"lastModifiedTime", "lastAccessTime", "creationTime", "size", "isRegularFile",
                "isDirectory", "isSymbolicLink", "isOther", "fileKey"},
            "posix", new String[] {"lastModifiedTime", "lastAccessTime", "creationTime", "size", "isRegularFile",
                "isDirectory", "isSymbolicLink", "isOther", "fileKey", "permissions", "owner", "group"},
            "unix", new String[] {"lastModifiedTime", "lastAccessTime", "creationTime", "size", "isRegularFile",
                "isDirectory", "isSymbolicLink", "isOther", "fileKey", "permissions", "owner", "group", "mode", "ino",
                "dev", "rdev", "nlink", "uid", "gid", "ctime"});

    /**
     * The attributes named by {@code spec} ({@code [view:]name,name...} or {@code [view:]*}), as
     * {@link java.nio.file.Files#readAttributes(java.nio.file.Path, String, java.nio.file.LinkOption...)}
     * would return them.
     */
    Map<String, Object> attributes(String spec) {
        String view = "basic";
        String names = spec;
        int colon = spec.indexOf(':');
        if (colon >= 0) {
            view = spec.substring(0, colon);
            names = spec.substring(colon + 1);
        }
        String[] known = VIEWS.get(view);
        if (known == null) {
            throw new UnsupportedOperationException("View '" + view + "' not available");
        }
        Map<String, Object> m = new HashMap<>();
        if (names.equals("*")) {
            for (String n : known) {
                m.put(n, value(n));
            }
            return m;
        }
        int start = 0;
        while (start <= names.length()) {
            int comma = names.indexOf(',', start);
            String n = comma < 0 ? names.substring(start) : names.substring(start, comma);
            if (n.equals("*")) {
                for (String k : known) {
                    m.put(k, value(k));
                }
            } else {
                boolean ok = false;
                for (String k : known) {
                    if (k.equals(n)) {
                        ok = true;
                        break;
                    }
                }
                if (!ok) {
                    throw new IllegalArgumentException("'" + n + "' not recognized");
                }
                m.put(n, value(n));
            }
            if (comma < 0) {
                break;
            }
            start = comma + 1;
        }
        return m;
    }

    private Object value(String name) {
        return switch (name) {
            case "lastModifiedTime" -> time(mtimeSec, mtimeNsec);
            case "lastAccessTime" -> time(atimeSec, atimeNsec);
            case "creationTime" -> btimeSec != 0 || btimeNsec != 0 ? time(btimeSec, btimeNsec) : time(mtimeSec, mtimeNsec);
            case "size" -> size;
            case "isRegularFile" -> isRegularFile();
            case "isDirectory" -> isDirectory();
            case "isSymbolicLink" -> isSymbolicLink();
            case "isOther" -> !isRegularFile() && !isDirectory() && !isSymbolicLink();
            case "fileKey" -> key();
            case "permissions" -> permissions();
            case "owner" -> new Principal(uid);
            case "group" -> new Principal(gid);
            case "mode" -> mode;
            case "ino" -> ino;
            case "dev" -> dev;
            case "rdev" -> rdev;
            case "nlink" -> nlink;
            case "uid" -> uid;
            case "gid" -> gid;
            case "ctime" -> time(ctimeSec, ctimeNsec);
            default -> throw new IllegalArgumentException("'" + name + "' not recognized");
        };
    }
}
