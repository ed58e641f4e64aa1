package dev.cordon.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Guest paths as written in a policy: absolute POSIX paths, normalised. Pure string work: the
 * loader never looks at the host filesystem (a policy means the same on every machine).
 */
final class GuestPaths {

    private GuestPaths() { }

    /** Linux PATH_MAX and NAME_MAX: a longer path could not be opened anyway. */
    static final int MAX_PATH = 4096;
    static final int MAX_NAME = 255;

    /**
     * Where a workspace may not be: system directories the tiers mount read-only or synthesise
     * ({@code /proc}, {@code /dev}), and {@code /tmp}, which is the session's private temp dir.
     */
    static final Set<String> RESERVED = Set.of(
            "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
            "/sbin", "/sys", "/tmp", "/usr");

    /**
     * Normalises {@code raw}: a relative path is taken relative to {@code base} (when base is null
     * it must be absolute); {@code .} and repeated slashes go, a trailing slash goes.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    static String normalize(String raw, String base) {
        if (raw.isEmpty()) {
            throw new IllegalArgumentException("empty path");
        }
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException("control characters are not allowed in paths");
            }
            if (c == '\\') {
                throw new IllegalArgumentException("use / as the separator (this is a POSIX path inside the sandbox)");
            }
        }
        if (raw.startsWith("~")) {
            throw new IllegalArgumentException("~ is not expanded; write the absolute path");
        }
        String full;
        if (raw.startsWith("/")) {
            full = raw;
        } else if (base == null) {
            throw new IllegalArgumentException("must be an absolute path (starting with /)");
        } else {
            full = base + "/" + raw;
        }
        List<String> names = new ArrayList<>();
        for (String n : full.split("/")) {
            if (n.isEmpty() || n.equals(".")) {
                continue;
            }
            if (n.equals("..")) {
                throw new IllegalArgumentException("\"..\" is not allowed in policy paths; write the path without it");
            }
            if (n.length() > MAX_NAME) {
                throw new IllegalArgumentException("a path component is longer than " + MAX_NAME + " characters");
            }
            names.add(n);
        }
        String out = "/" + String.join("/", names);
        if (out.length() > MAX_PATH) {
            throw new IllegalArgumentException("path longer than " + MAX_PATH + " characters");
        }
        return out;
    }

    /** Whether {@code path} lies strictly below {@code dir} (both normalised). */
    static boolean isBelow(String path, String dir) {
        return dir.equals("/") ? !path.equals("/") : path.startsWith(dir + "/");
    }

    /** Whether {@code path} is {@code dir} or lies below it. */
    static boolean isAtOrBelow(String path, String dir) {
        return path.equals(dir) || isBelow(path, dir);
    }

    /** The reserved directory {@code path} is at or below, or null. */
    static String reservedRoot(String path) {
        for (String r : RESERVED) {
            if (isAtOrBelow(path, r)) {
                return r;
            }
        }
        return null;
    }
}
