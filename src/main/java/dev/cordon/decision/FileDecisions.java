package dev.cordon.decision;

import dev.cordon.policy.FilesystemPolicy;
import java.util.Locale;

/**
 * The policy's answer for one file operation of guest code: a pure function of the immutable
 * {@link FilesystemPolicy} and facts the filesystem gate has established (which area of the guest
 * namespace a normalised path lies in, whether it is a protected file). The gate only applies the
 * answer; every text a user reads about a file denial is written here.
 *
 * <p>Rules, in the order they are applied:
 * <ol>
 *   <li>{@code filesystem.workspace_only}: only the workspace, {@code /tmp}, read-only runtime
 *       files and any extra read-only directories exist for guest code; a path elsewhere, a path
 *       that a symbolic link leads out of its area, or a link that would point out is denied.</li>
 *   <li>{@code logging.log_file}: Cordon's own log files inside the workspace may be read, never
 *       changed.</li>
 *   <li>{@code filesystem.writable}: with {@code writable: false} nothing in the workspace may be
 *       changed ({@code /tmp} stays writable, within the quota).</li>
 *   <li>{@code filesystem.max_size_mb}: see {@link #quota}.</li>
 * </ol>
 */
public final class FileDecisions {

    private FileDecisions() { }

    /** What guest code tries to do; {@link #word()} is the name users see. */
    public enum Op {
        READ(false), WRITE(true), STAT(false), LIST(false), READLINK(false), CHDIR(false),
        CREATE(true), TRUNCATE(true), DELETE(true), RENAME(true), MKDIR(true), LINK(true), SYMLINK(true),
        CHMOD(true), UTIME(true);

        private final boolean changes;

        Op(boolean changes) {
            this.changes = changes;
        }

        /** Whether the operation changes the filesystem (as opposed to reading or inspecting it). */
        public boolean changes() {
            return changes;
        }

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Where a normalised guest path lies. */
    public enum Area {
        /** Under {@code workspace_dir}. */
        WORKSPACE,
        /** Under {@code /tmp}: a per-session host directory, counted in the same quota. */
        TMP,
        /** The Python runtime's own files or an extra read-only host directory. */
        READ_ONLY,
        /** A directory on the way to a visible area (e.g. {@code /}): it may be inspected, not listed. */
        ANCESTOR,
        /**
         * A file directly in a standard program directory ({@code /usr/bin}, ...): it may be
         * inspected (so {@code subprocess} and {@code shutil.which} find programs and the process
         * gate, not this one, decides whether they run), never read or listed.
         */
        PROGRAM,
        /** Everything else. */
        OUTSIDE
    }

    /**
     * Decides one operation on one path.
     *
     * @param p         the filesystem policy
     * @param op        the operation
     * @param guestPath the normalised absolute guest path
     * @param area      where it lies
     * @param protectedFile whether it is one of Cordon's log files (decided by the gate by file
     *                  identity, so links and renames cannot hide it)
     */
    public static Decision decide(FilesystemPolicy p, Op op, String guestPath, Area area, boolean protectedFile) {
        switch (area) {
            case OUTSIDE:
                return outside(p, op, guestPath);
            case ANCESTOR:
                if (op == Op.STAT || op == Op.CHDIR) {
                    return Decision.allow("filesystem.workspace_dir");
                }
                return outside(p, op, guestPath);
            case PROGRAM:
                if (op == Op.STAT) {
                    return Decision.allow("subprocess.allowed_commands");
                }
                return outside(p, op, guestPath);
            case READ_ONLY:
                if (!op.changes()) {
                    return Decision.allow("filesystem.read_only");
                }
                return new Decision.Deny(Decision.Category.FILESYSTEM, op.word(), guestPath, "filesystem.workspace_only",
                        "it is part of the read-only Python runtime, outside the workspace " + p.workspaceDir(),
                        "write inside " + p.workspaceDir() + " (results belong in " + p.outputDir()
                                + "); nothing in the policy makes runtime files writable");
            case WORKSPACE:
            case TMP:
                if (protectedFile && op.changes()) {
                    return new Decision.Deny(Decision.Category.FILESYSTEM, op.word(), guestPath, "logging.log_file",
                            "it is one of Cordon's log files: guest code may read it but never change, move or remove it",
                            "write your own logs to another file, or set execution.sandbox.logging.log_file to a path "
                                    + "outside " + p.workspaceDir());
                }
                if (area == Area.WORKSPACE && op.changes() && !p.writable()) {
                    return new Decision.Deny(Decision.Category.FILESYSTEM, op.word(), guestPath, "filesystem.writable",
                            "the workspace is read-only in this policy (/tmp stays writable)",
                            "execution.sandbox.filesystem: {writable: true}");
                }
                return Decision.allow(area == Area.TMP ? "filesystem.tmp" : "filesystem.workspace_dir");
            default:
                throw new AssertionError(area);
        }
    }

    private static Decision.Deny outside(FilesystemPolicy p, Op op, String guestPath) {
        String fix = op.changes()
                ? "write inside " + p.workspaceDir() + " (results belong in " + p.outputDir() + ", scratch files in /tmp); "
                        + "no policy key opens other host paths"
                : "move or copy the file into the workspace, e.g. cordon exec --upload FILE (it appears in "
                        + p.uploadDir() + "); no policy key opens other host paths";
        return new Decision.Deny(Decision.Category.FILESYSTEM, op.word(), guestPath, "filesystem.workspace_only",
                "guest code sees only " + p.workspaceDir() + " and /tmp", fix);
    }

    /**
     * A path whose resolution leaves its area through a symbolic link (made by guest code, planted
     * by the host in uploads, or swapped in by a concurrent writer), or climbs out with {@code ..}.
     */
    public static Decision.Deny escape(FilesystemPolicy p, Op op, String guestPath) {
        return new Decision.Deny(Decision.Category.FILESYSTEM, op.word(), guestPath, "filesystem.workspace_only",
                "a symbolic link on this path leads outside " + areaName(p, guestPath),
                "replace the link with a copy of the file; symbolic links may only point inside "
                        + areaName(p, guestPath) + " (no policy key lets them lead out)");
    }

    /**
     * A symbolic link guest code wants to make, whose target lies outside the area the link is in.
     *
     * @param link   the normalised guest path of the new link
     * @param target the target as given
     */
    public static Decision.Deny symlinkOut(FilesystemPolicy p, String link, String target) {
        return new Decision.Deny(Decision.Category.FILESYSTEM, Op.SYMLINK.word(), link + " -> " + target,
                "filesystem.workspace_only",
                "a symbolic link may only point inside " + areaName(p, link),
                "link to a file inside " + areaName(p, link) + ", or copy the file there (shutil.copy)");
    }

    /**
     * Hard links are refused: two names for one file would let a write through one name change a
     * protected file and make the quota count one file twice or not at all.
     *
     * @param target the paths involved, as the gate could tell them
     */
    public static Decision.Deny hardLink(FilesystemPolicy p, String target) {
        return new Decision.Deny(Decision.Category.FILESYSTEM, Op.LINK.word(), target,
                "filesystem.workspace_only",
                "hard links are not supported in the sandbox",
                "copy the file (shutil.copy) or make a symbolic link inside " + p.workspaceDir()
                        + " (os.symlink); no policy key allows hard links");
    }

    /**
     * A write to a file that has other hard links (only the host or a native-tier process can make
     * them): the other names may lie outside the workspace, and a write would change them too.
     */
    public static Decision.Deny sharedFile(FilesystemPolicy p, Op op, String guestPath) {
        return new Decision.Deny(Decision.Category.FILESYSTEM, op.word(), guestPath, "filesystem.workspace_only",
                "the file has other hard links, possibly outside " + p.workspaceDir() + ", which a write would change too",
                "copy it (shutil.copy) and write the copy; no policy key allows writing shared files");
    }

    /**
     * A write that would take the bytes of all files in the workspace and {@code /tmp} past
     * {@code max_size_mb}.
     *
     * @param used bytes in use before the write
     * @param want bytes the write would add
     */
    public static Decision.Deny quota(FilesystemPolicy p, Op op, String guestPath, long used, long want) {
        long suggest = Math.max(p.maxSizeMb() * 2, (used + want) / (1024 * 1024) + 1);
        return new Decision.Deny(Decision.Category.FILESYSTEM, op.word(), guestPath, "filesystem.max_size_mb",
                "the workspace and /tmp may hold at most " + p.maxSizeMb() + " MB together; " + mb(used)
                        + " MB are in use and this write needs " + mb(want) + " MB more",
                "delete files you no longer need, or raise execution.sandbox.filesystem.max_size_mb (e.g. "
                        + suggest + ")");
    }

    private static String areaName(FilesystemPolicy p, String guestPath) {
        return guestPath.equals("/tmp") || guestPath.startsWith("/tmp/") ? "/tmp" : p.workspaceDir();
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
    }
}
