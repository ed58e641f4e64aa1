package dev.cordon.fs;

import dev.cordon.agent.GuestErrors;
import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.decision.FileDecisions;
import dev.cordon.decision.FileDecisions.Area;
import dev.cordon.decision.FileDecisions.Op;
import dev.cordon.fs.Stat.FileKey;
import dev.cordon.policy.FilesystemPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.graalvm.polyglot.io.FileSystem;

/**
 * The workspace filesystem gate: the only filesystem a session's GraalPy context has (with the
 * emulated POSIX backend every {@code open}, {@code stat}, {@code listdir}, {@code rename},
 * {@code remove}, {@code mkdir}, {@code symlink}, {@code utime}, {@code chmod} and {@code chdir} of
 * guest code arrives here).
 *
 * <p>The guest namespace:
 * <ul>
 *   <li>{@code workspace_dir} (e.g. {@code /workspace}): the caller's host directory;</li>
 *   <li>{@code /tmp}: a per-session host directory, writable even when the workspace is not,
 *       counted in the same {@code max_size_mb};</li>
 *   <li>the Python runtime's own files (language home, internal resources), read-only, through
 *       GraalPy's {@link FileSystem#allowInternalResourceAccess} over a deny-all filesystem, wrapped
 *       read-only (in 25.0.3 that helper alone would also allow writes there);</li>
 *   <li>optional extra read-only host directories at their own paths;</li>
 *   <li>{@code /dev/null}, {@code /dev/zero}, {@code /dev/urandom}, {@code /dev/random}, served by
 *       the JVM ({@link Devices});</li>
 *   <li>programs in the standard bin directories may be inspected, not read (so that
 *       {@code subprocess} reaches the process gate, which decides);</li>
 *   <li>the directories on the way to these (such as {@code /}) may be inspected
 *       ({@code stat}), not listed;</li>
 *   <li>nothing else: every other path is a denial, reported to the {@link DenialSink} and
 *       raised in Python as {@code PermissionError} with the message of
 *       {@link Decision.Deny#message()}.</li>
 * </ul>
 *
 * <p>How paths are resolved: a guest path is made absolute against the guest cwd kept here and
 * normalised lexically ({@code ..} cannot climb above its area). The host side is never resolved
 * by path: each visible root is held open as a directory fd and the kernel resolves the rest with
 * {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)}, which fails if any {@code ..} or
 * symbolic link would leave the root, even one swapped in concurrently. Operations then act on the
 * returned fd (reopened through {@code /proc/self/fd/N} for a JDK channel) or on a
 * (parent fd, name) pair. See {@link Sys} for why.
 *
 * <p>Thread-safe: guest threads call it concurrently.
 */
public final class WorkspaceFileSystem implements FileSystem, AutoCloseable {

    /**
     * The Python runtime's files, read-only. {@code allowLanguageHomeAccess} is deprecated in
     * 25.0.3 and only forwards to {@code allowInternalResourceAccess}, whose resource branch is the
     * default (writable) filesystem: hence the read-only wrapper.
     */
    private static final FileSystem RUNTIME = FileSystem.newReadOnlyFileSystem(
            FileSystem.allowInternalResourceAccess(FileSystem.newDenyIOFileSystem()));
    private static final long RESOLVE = Sys.RESOLVE_BENEATH | Sys.RESOLVE_NO_MAGICLINKS;
    private static final long RESOLVE_NO_LINKS = RESOLVE | Sys.RESOLVE_NO_SYMLINKS;
    private static final Path TMP = Path.of("/tmp");
    private static final Cleaner CLEANER = Cleaner.create();
    private static final java.nio.file.spi.FileSystemProvider HOST = Path.of("/").getFileSystem().provider();
    /**
     * Host paths GraalPy itself reads on behalf of guest code and copes without: {@code os.getpid()}
     * reads {@code /proc/self/stat} and falls back to the JVM's pid. They answer "no such file"
     * without a denial report, so ordinary code leaves no audit noise; nothing is revealed.
     */
    private static final Set<String> QUIET = Set.of("/proc/self/stat");
    /**
     * Where programs are looked up. GraalPy's emulated {@code fork_exec} asks this filesystem
     * whether each PATH candidate is executable and calls the process handler only for one that
     * is: hiding them would keep every subprocess attempt from the process gate (which decides and
     * reports it) and leave a misleading filesystem denial instead.
     */
    private static final Set<String> PROGRAM_DIRS = Set.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
            "/sbin", "/bin");

    /** A visible root: a host directory held open, shown to guest code at {@link #guest}. */
    private static final class Root {
        final Area area;
        final Path guestPath;
        final String guest;
        final String prefix;
        final Path host;
        final int fd;
        final String hostReal;

        Root(Area area, Path guestPath, Path host) throws IOException {
            this.area = area;
            this.guestPath = guestPath;
            this.guest = guestPath.toString();
            this.prefix = guest.endsWith("/") ? guest : guest + "/";
            this.host = host;
            try {
                this.fd = Sys.openat2(Sys.AT_FDCWD, host.toString(), Sys.O_PATH | Sys.O_DIRECTORY, 0, 0);
                this.hostReal = Sys.fdPath(fd);
            } catch (Sys.Errno e) {
                throw new IOException("cannot open " + host + ": " + Sys.strerror(e.errno));
            }
        }
    }

    /** A normalised guest path and where it lies; {@code root} and {@code rel} are null outside. */
    private record Target(Path path, String guest, Area area, Root root, String rel) {
        boolean isRoot() {
            return ".".equals(rel);
        }

        String parentRel() {
            int i = rel.lastIndexOf('/');
            return i < 0 ? "." : rel.substring(0, i);
        }

        String name() {
            return rel.substring(rel.lastIndexOf('/') + 1);
        }
    }

    /** Identities of the protected files and of the directories on the way to them. */
    private record Protection(Set<FileKey> files, Set<FileKey> dirs) {
        static final Protection NONE = new Protection(Set.of(), Set.of());
    }

    private final FilesystemPolicy policy;
    private final DenialSink sink;
    private final Root ws;
    private final Root tmp;
    private final Root[] roots;
    private final Quota quota;
    /** Guest paths that may be inspected though not listed: {@code /}, parents of the runtime, ... */
    private final Set<String> ancestors = ConcurrentHashMap.newKeySet();
    /** Protected files as (root, relative path), and the upload/output dirs, relative to the workspace. */
    private final List<Map.Entry<Root, String>> protectedRel = new ArrayList<>();
    private final String uploadRel;
    private final String outputRel;
    private volatile Protection protection = Protection.NONE;
    private volatile Path cwd;
    private volatile boolean closed;

    private WorkspaceFileSystem(WorkspaceLayout layout, DenialSink sink) throws IOException {
        this.policy = layout.policy();
        this.sink = sink;
        Path wsGuest = Path.of(policy.workspaceDir()).normalize();
        if (!wsGuest.isAbsolute() || wsGuest.getNameCount() == 0 || wsGuest.startsWith(TMP) || TMP.startsWith(wsGuest)) {
            throw new IllegalArgumentException("workspace_dir must be an absolute directory other than / and /tmp: "
                    + policy.workspaceDir());
        }
        Files.createDirectories(layout.hostWorkspace());
        Files.createDirectories(layout.hostTmp());
        List<Root> rs = new ArrayList<>();
        this.ws = new Root(Area.WORKSPACE, wsGuest, layout.hostWorkspace().toAbsolutePath().normalize());
        this.tmp = new Root(Area.TMP, TMP, layout.hostTmp().toAbsolutePath().normalize());
        rs.add(ws);
        rs.add(tmp);
        for (Path d : layout.readOnlyHostDirs()) {
            Path g = d.toAbsolutePath().normalize();
            if (g.startsWith(wsGuest) || wsGuest.startsWith(g) || g.startsWith(TMP) || TMP.startsWith(g)) {
                throw new IllegalArgumentException("a read-only directory may not overlap " + wsGuest + " or /tmp: " + d);
            }
            rs.add(new Root(Area.READ_ONLY, g, g));
        }
        rs.sort(Comparator.comparingInt((Root r) -> r.guest.length()).reversed());
        this.roots = rs.toArray(new Root[0]);
        int[] fds = rs.stream().mapToInt(r -> r.fd).toArray();
        CLEANER.register(this, () -> {
            for (int fd : fds) {
                Sys.close(fd);
            }
        });
        for (Root r : roots) {
            for (Path a = r.guestPath.getParent(); a != null; a = a.getParent()) {
                ancestors.add(a.toString());
            }
        }
        ancestors.add("/dev");
        ancestors.addAll(PROGRAM_DIRS);
        this.quota = new Quota(policy.maxSizeBytes());
        this.uploadRel = relInWorkspace(policy.uploadDir());
        this.outputRel = relInWorkspace(policy.outputDir());
        for (String g : layout.protectedGuestPaths()) {
            Target t = resolve(Path.of(g));
            if ((t.area() == Area.WORKSPACE || t.area() == Area.TMP) && !t.isRoot()) {
                protectedRel.add(Map.entry(t.root(), t.rel()));
            }
        }
        this.cwd = ws.guestPath;
        prepare();
    }

    /**
     * Creates the gate for one session: opens the host directories (creating them if missing),
     * creates the upload and output dirs and the protected files, and counts the bytes already
     * there.
     *
     * @throws UnsupportedOperationException if this platform lacks what the gate needs (Linux with
     *         {@code openat2}, native access for the JVM): the caller must not run guest code then
     * @throws UncheckedIOException if the host directories cannot be prepared
     */
    public static WorkspaceFileSystem create(WorkspaceLayout layout, DenialSink sink) {
        try {
            Sys.probe();
        } catch (LinkageError e) {
            throw new UnsupportedOperationException("Cordon's workspace filesystem cannot call into the kernel ("
                    + e + "); start the JVM with --enable-native-access=ALL-UNNAMED on Linux", e);
        }
        try {
            return new WorkspaceFileSystem(layout, sink == null ? DenialSink.NONE : sink);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the workspace: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Host-side API for the session

    /**
     * A counter that moves on every change guest code makes through this gate (a write or
     * truncate, an open for writing, mkdir, delete, rename, copy, link, attribute change; counted
     * before the operation, so denied attempts count too) and on {@link #rescan()} and
     * {@link #resetForFreshCall()}. Two equal readings mean that the workspace and {@code /tmp}
     * were not changed through the gate in between: the session uses it to skip a fresh-call reset
     * that would have nothing to undo and to reuse its output listing. Changes made outside the
     * gate (host, native tier) are seen only through {@link #rescan()}, as for the quota.
     */
    public long changes() {
        return quota.changes();
    }

    /** Bytes counted against {@code max_size_mb} now (workspace and /tmp, Cordon's log files excluded). */
    public long usedBytes() {
        return quota.used();
    }

    /**
     * Recounts the bytes on disk, after the host or a native-tier process changed the workspace
     * (uploads, subprocess output); also recreates missing upload/output dirs and protected files.
     * Call it while no guest code of this session runs.
     */
    public void rescan() {
        checkOpen();
        try {
            prepare();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Makes the workspace fresh for the next call ({@code persist_across_calls: false}): removes
     * everything but the upload dir and the protected log files (and the directories leading to
     * them), empties {@code /tmp}, recreates the upload and output dirs, resets the guest cwd and
     * recounts. With {@code writable: false} the workspace itself is left alone (guest code could
     * not have changed it). Call it while no guest code of this session runs.
     */
    public void resetForFreshCall() {
        checkOpen();
        quota.namespace.lock();
        try {
            if (policy.writable()) {
                List<String> keep = new ArrayList<>();
                if (uploadRel != null) {
                    keep.add(uploadRel);
                }
                for (Map.Entry<Root, String> e : protectedRel) {
                    if (e.getKey() == ws) {
                        keep.add(e.getValue());
                    }
                }
                HostTree.clear(ws.fd, keep::contains,
                        rel -> keep.stream().anyMatch(k -> k.startsWith(rel + "/")));
            }
            List<String> keepTmp = new ArrayList<>();
            for (Map.Entry<Root, String> e : protectedRel) {
                if (e.getKey() == tmp) {
                    keepTmp.add(e.getValue());
                }
            }
            HostTree.clear(tmp.fd, keepTmp::contains, rel -> keepTmp.stream().anyMatch(k -> k.startsWith(rel + "/")));
            cwd = ws.guestPath;
            prepare();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            quota.namespace.unlock();
        }
    }

    /**
     * Stops serving guest code; the directory fds are released when this object is collected (so
     * that an operation still in flight can never act on a reused fd number).
     */
    @Override
    public void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the workspace filesystem of this session is closed");
        }
    }

    private String relInWorkspace(String guest) {
        if (guest == null) {
            return null;
        }
        Target t = resolve(Path.of(guest));
        return t.area() == Area.WORKSPACE && !t.isRoot() ? t.rel() : null;
    }

    /** Creates upload/output dirs and protected files (never through a link), then recounts. */
    private void prepare() throws IOException {
        quota.changed();
        quota.namespace.lock();
        try {
            for (String rel : new String[] {uploadRel, outputRel}) {
                if (rel != null) {
                    Sys.close(ensureDir(ws, rel, null));
                }
            }
            Set<FileKey> files = new HashSet<>();
            Set<FileKey> dirs = new HashSet<>();
            for (Map.Entry<Root, String> e : protectedRel) {
                files.add(ensureFile(e.getKey(), e.getValue(), dirs));
            }
            Protection p = new Protection(Set.copyOf(files), Set.copyOf(dirs));
            protection = p;
            Set<FileKey> seen = new HashSet<>();
            long bytes;
            try {
                bytes = HostTree.scan(new int[] {ws.fd, tmp.fd}, seen, p.files());
            } catch (UncheckedIOException e) {
                bytes = quota.max; // a tree too deep to count: fail closed, no more bytes until a reset
            }
            quota.reset(bytes, seen);
        } finally {
            quota.namespace.unlock();
        }
    }

    /**
     * Opens directory {@code rel} under {@code root}, creating missing parts, following no link: a
     * symlink where a directory belongs is replaced (it holds no data); a file there is an error.
     */
    private static int ensureDir(Root root, String rel, Set<FileKey> keys) throws IOException {
        int cur;
        try {
            cur = Sys.openat2(root.fd, ".", Sys.O_PATH | Sys.O_DIRECTORY, 0, RESOLVE);
        } catch (Sys.Errno e) {
            throw new IOException("cannot open " + root.host + ": " + Sys.strerror(e.errno));
        }
        if (rel.equals(".")) {
            return cur;
        }
        for (String comp : rel.split("/")) {
            int next;
            try {
                next = openDirNoLinks(cur, comp);
                if (next < 0) {
                    Stat st = null;
                    try {
                        st = Sys.lstatAt(cur, comp);
                    } catch (Sys.Errno e) {
                        // missing: create it below
                    }
                    if (st != null && st.isSymbolicLink()) {
                        Sys.unlinkat(cur, comp, 0);
                    } else if (st != null && !st.isDirectory()) {
                        throw new IOException(root.guest + "/" + rel + ": " + comp + " is a file, not a directory");
                    }
                    try {
                        Sys.mkdirat(cur, comp, 0755);
                    } catch (Sys.Errno e) {
                        if (e.errno != Sys.EEXIST) {
                            throw e;
                        }
                    }
                    next = openDirNoLinks(cur, comp);
                    if (next < 0) {
                        throw new IOException("cannot create " + root.guest + "/" + rel);
                    }
                }
                if (keys != null) {
                    keys.add(Sys.fstat(next).key());
                }
            } catch (Sys.Errno e) {
                Sys.close(cur);
                throw new IOException("cannot create " + root.guest + "/" + rel + ": " + Sys.strerror(e.errno));
            } catch (IOException e) {
                Sys.close(cur);
                throw e;
            }
            Sys.close(cur);
            cur = next;
        }
        return cur;
    }

    private static int openDirNoLinks(int dirfd, String name) {
        try {
            return Sys.openat2(dirfd, name, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_NOFOLLOW, 0, RESOLVE_NO_LINKS);
        } catch (Sys.Errno e) {
            return -1;
        }
    }

    /** Makes sure a protected file exists as a regular file reached without links; its identity. */
    private static FileKey ensureFile(Root root, String rel, Set<FileKey> dirKeys) throws IOException {
        int i = rel.lastIndexOf('/');
        String parent = i < 0 ? "." : rel.substring(0, i);
        String name = rel.substring(i + 1);
        int pfd = ensureDir(root, parent, dirKeys);
        try {
            for (int attempt = 0; ; attempt++) {
                try {
                    int fd = Sys.openat2(pfd, name, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_NOFOLLOW | Sys.O_NONBLOCK, 0644,
                            RESOLVE_NO_LINKS);
                    try {
                        Stat st = Sys.fstat(fd);
                        if (!st.isRegularFile()) {
                            throw new IOException(root.guest + "/" + rel + " must be a regular file");
                        }
                        return st.key();
                    } finally {
                        Sys.close(fd);
                    }
                } catch (Sys.Errno e) {
                    if (e.errno == Sys.ELOOP && attempt == 0) {
                        Sys.unlinkat(pfd, name, 0); // a symlink where Cordon's log belongs: never write through it
                        continue;
                    }
                    throw new IOException("cannot create " + root.guest + "/" + rel + ": " + Sys.strerror(e.errno));
                }
            }
        } catch (Sys.Errno e) {
            throw new IOException("cannot replace " + root.guest + "/" + rel + ": " + Sys.strerror(e.errno));
        } finally {
            Sys.close(pfd);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Resolution and decisions

    private Target resolve(Path p) {
        Path abs = p.isAbsolute() ? p : cwd.resolve(p);
        Path norm = abs.normalize();
        String s = norm.toString();
        for (Root r : roots) {
            if (s.startsWith(r.prefix)) {
                return new Target(norm, s, r.area, r, s.substring(r.prefix.length()));
            }
            if (s.equals(r.guest)) {
                return new Target(norm, s, r.area, r, ".");
            }
        }
        return new Target(norm, s, Area.OUTSIDE, null, null);
    }

    private Target resolveChecked(Path p) {
        checkOpen();
        return resolve(p);
    }

    /** Applies the policy's decision; returns normally only if it allows. */
    private void check(Op op, Target t, boolean protectedFile) throws IOException {
        Decision d = FileDecisions.decide(policy, op, t.guest(), t.area(), protectedFile);
        if (d instanceof Decision.Deny deny) {
            throw deny(deny);
        }
    }

    /**
     * Outside the visible roots and not a runtime file: a denial unless {@code op} is allowed on a
     * directory on the way or on a program.
     */
    private void checkOutside(Op op, Target t) throws IOException {
        if (QUIET.contains(t.guest())) {
            throw new NoSuchFileException(t.guest());
        }
        check(op, new Target(t.path(), t.guest(), outsideArea(t), null, null), false);
    }

    private Area outsideArea(Target t) {
        if (ancestors.contains(t.guest())) {
            return Area.ANCESTOR;
        }
        Path parent = t.path().getParent();
        if (parent != null && PROGRAM_DIRS.contains(parent.toString())) {
            return Area.PROGRAM;
        }
        return Area.OUTSIDE;
    }

    private IOException deny(Decision.Deny d) {
        sink.blocked(d);
        return GuestErrors.exception(GuestErrors.EACCES, d.message());
    }

    private IOException exceeded(String guestPath, long want) {
        Decision.Deny d = FileDecisions.quota(policy, Op.WRITE, guestPath, quota.used(), want);
        sink.blocked(d);
        return GuestErrors.exception(GuestErrors.ENOSPC, d.message());
    }

    /** An errno from resolving or acting on {@code t}: an escape is a denial, the rest as the OS says. */
    private IOException failure(Sys.Errno e, Target t, Op op) {
        if (e.errno == Sys.EXDEV) {
            return deny(FileDecisions.escape(policy, op, t.guest()));
        }
        return Sys.toException(e.errno, t.guest());
    }

    private boolean isProtected(FileKey k) {
        return protection.files().contains(k);
    }

    private boolean isProtectedDir(FileKey k) {
        return protection.dirs().contains(k);
    }

    /** The runtime served {@code p}: the directories above it may be inspected from now on. */
    private void noteRuntime(Path p) {
        for (Path a = p.getParent(); a != null; a = a.getParent()) {
            if (!ancestors.add(a.toString())) {
                break;
            }
        }
    }

    private int open(Target t, Op op, int flags, int mode) throws IOException {
        try {
            return Sys.openat2(t.root().fd, t.rel(), flags, mode, RESOLVE);
        } catch (Sys.Errno e) {
            throw failure(e, t, op);
        }
    }

    private int openParent(Target t, Op op) throws IOException {
        try {
            return Sys.openat2(t.root().fd, t.parentRel(), Sys.O_PATH | Sys.O_DIRECTORY, 0, RESOLVE);
        } catch (Sys.Errno e) {
            throw failure(e, t, op);
        }
    }

    private static Path proc(int fd) {
        return Path.of("/proc/self/fd/" + fd);
    }

    private static boolean noFollow(LinkOption... options) {
        for (LinkOption o : options) {
            if (o == LinkOption.NOFOLLOW_LINKS) {
                return true;
            }
        }
        return false;
    }

    private String toGuest(Root r, String host, Target t, Op op) throws IOException {
        if (host.equals(r.hostReal)) {
            return r.guest;
        }
        if (host.startsWith(r.hostReal) && host.length() > r.hostReal.length() && host.charAt(r.hostReal.length()) == '/') {
            return r.prefix + host.substring(r.hostReal.length() + 1);
        }
        throw deny(FileDecisions.escape(policy, op, t.guest())); // cannot happen under RESOLVE_BENEATH
    }

    // ------------------------------------------------------------------------------------------
    // org.graalvm.polyglot.io.FileSystem

    @Override
    public Path parsePath(URI uri) {
        if (!"file".equals(uri.getScheme())) {
            throw new UnsupportedOperationException("Unsupported URI scheme " + uri.getScheme());
        }
        return Path.of(uri);
    }

    @Override
    public Path parsePath(String path) {
        return Path.of(path);
    }

    @Override
    public Path toAbsolutePath(Path path) {
        return path.isAbsolute() ? path : cwd.resolve(path);
    }

    @Override
    public void setCurrentWorkingDirectory(Path dir) {
        if (!dir.isAbsolute()) {
            throw new IllegalArgumentException("Current working directory must be absolute.");
        }
        Target t = resolveChecked(dir);
        if (t.root() == null) {
            try {
                RUNTIME.readAttributes(t.path(), "isDirectory");
            } catch (SecurityException e) {
                Area a = ancestors.contains(t.guest()) ? Area.ANCESTOR : Area.OUTSIDE;
                if (FileDecisions.decide(policy, Op.CHDIR, t.guest(), a, false) instanceof Decision.Deny d) {
                    sink.blocked(d);
                    throw new SecurityException(d.message());
                }
            } catch (IOException e) {
                // a missing directory: the language checked existence before; keep its answer
            }
        }
        cwd = t.path();
    }

    @Override
    public Path getTempDirectory() {
        return TMP;
    }

    @Override
    public void checkAccess(Path path, Set<? extends AccessMode> modes, LinkOption... linkOptions) throws IOException {
        Target t = resolveChecked(path);
        if (t.root() == null) {
            if (Devices.of(t.guest()) != null && !modes.contains(AccessMode.EXECUTE)) {
                return;
            }
            try {
                RUNTIME.checkAccess(t.path(), modes, linkOptions);
                noteRuntime(t.path());
                return;
            } catch (SecurityException e) {
                if (modes.contains(AccessMode.WRITE)) {
                    // A question about a place guest code cannot write: the answer is no, and
                    // asking is no attempt worth a report.
                    throw new AccessDeniedException(t.guest());
                }
                checkOutside(Op.STAT, t);
                HOST.checkAccess(t.path(), modes.toArray(new AccessMode[0]));
                return;
            }
        }
        int fd = open(t, Op.STAT, Sys.O_PATH | (noFollow(linkOptions) ? Sys.O_NOFOLLOW : 0), 0);
        try {
            if (modes.isEmpty()) {
                return;
            }
            if (modes.contains(AccessMode.WRITE)) {
                // A question, not an attempt: answer it without reporting a denial.
                if (FileDecisions.decide(policy, Op.WRITE, t.guest(), t.area(), false) instanceof Decision.Deny
                        || isProtected(Sys.fstat(fd).key())) {
                    throw new AccessDeniedException(t.guest());
                }
            }
            HOST.checkAccess(proc(fd), modes.toArray(new AccessMode[0]));
        } catch (Sys.Errno e) {
            throw failure(e, t, Op.STAT);
        } finally {
            Sys.close(fd);
        }
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        Target t = resolveChecked(path);
        if (t.root() == null) {
            if (Devices.of(t.guest()) != null) {
                return Devices.attributes(t.guest(), attributes);
            }
            if (Devices.isStdio(t.guest())) {
                return Devices.stdioAttributes(attributes);
            }
            try {
                Map<String, Object> m = RUNTIME.readAttributes(t.path(), attributes, options);
                noteRuntime(t.path());
                return m;
            } catch (SecurityException e) {
                checkOutside(Op.STAT, t);
                return Files.readAttributes(t.path(), attributes, options);
            }
        }
        int fd = open(t, Op.STAT, Sys.O_PATH | (noFollow(options) ? Sys.O_NOFOLLOW : 0), 0);
        try {
            return Sys.fstat(fd).attributes(attributes);
        } catch (Sys.Errno e) {
            throw failure(e, t, Op.STAT);
        } finally {
            Sys.close(fd);
        }
    }

    @Override
    public Path toRealPath(Path path, LinkOption... linkOptions) throws IOException {
        Target t = resolveChecked(path);
        if (t.root() == null) {
            if (Devices.of(t.guest()) != null) {
                return t.path();
            }
            try {
                Path p = RUNTIME.toRealPath(t.path(), linkOptions);
                noteRuntime(t.path());
                return p;
            } catch (SecurityException e) {
                checkOutside(Op.STAT, t);
                return t.path().toRealPath(linkOptions);
            }
        }
        int fd = open(t, Op.STAT, Sys.O_PATH | (noFollow(linkOptions) ? Sys.O_NOFOLLOW : 0), 0);
        try {
            return Path.of(toGuest(t.root(), Sys.fdPath(fd), t, Op.STAT));
        } catch (Sys.Errno e) {
            throw failure(e, t, Op.STAT);
        } finally {
            Sys.close(fd);
        }
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        boolean read = false;
        boolean write = false;
        boolean append = false;
        boolean create = false;
        boolean createNew = false;
        boolean truncate = false;
        boolean noFollow = false;
        boolean deleteOnClose = false;
        Set<OpenOption> reopen = new HashSet<>(4);
        for (OpenOption o : options) {
            if (o == StandardOpenOption.READ) {
                read = true;
            } else if (o == StandardOpenOption.WRITE) {
                write = true;
            } else if (o == StandardOpenOption.APPEND) {
                append = true;
            } else if (o == StandardOpenOption.CREATE) {
                create = true;
            } else if (o == StandardOpenOption.CREATE_NEW) {
                createNew = true;
            } else if (o == StandardOpenOption.TRUNCATE_EXISTING) {
                truncate = true;
            } else if (o == StandardOpenOption.DELETE_ON_CLOSE) {
                deleteOnClose = true;
            } else if (o == LinkOption.NOFOLLOW_LINKS) {
                noFollow = true;
            } else if (o == StandardOpenOption.SYNC || o == StandardOpenOption.DSYNC) {
                reopen.add(o);
            } else if (o != StandardOpenOption.SPARSE) {
                throw new UnsupportedOperationException(o + " not supported");
            }
        }
        if (append) {
            write = true;
        }
        if (!read && !write) {
            read = true;
        }
        if (read && append) {
            throw new IllegalArgumentException("READ + APPEND not allowed");
        }
        if (append && truncate) {
            throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
        }
        if (!write) {
            create = createNew = truncate = deleteOnClose = false; // as the JDK: they need WRITE
        }
        Target t = resolveChecked(path);
        if (write) {
            quota.changed();
        }
        Op op = write ? Op.WRITE : Op.READ;
        if (t.root() == null) {
            Devices.Kind device = Devices.of(t.guest());
            if (device != null) {
                return Devices.open(device);
            }
            if (write) {
                check(op, t, false);
            }
            try {
                SeekableByteChannel c = RUNTIME.newByteChannel(t.path(), options, attrs);
                noteRuntime(t.path());
                return c;
            } catch (SecurityException e) {
                checkOutside(op, t);
                throw new AccessDeniedException(t.guest()); // an ancestor directory: not a file to open
            }
        }
        check(op, t, false);
        int flags = read && write ? Sys.O_RDWR : write ? Sys.O_WRONLY : Sys.O_RDONLY;
        if (createNew) {
            flags |= Sys.O_CREAT | Sys.O_EXCL;
        } else if (create) {
            flags |= Sys.O_CREAT;
        }
        if (noFollow) {
            flags |= Sys.O_NOFOLLOW;
        }
        // O_NONBLOCK: a FIFO planted in the workspace must not hang the guest thread in open().
        int fd = open(t, op, flags | Sys.O_NONBLOCK | Sys.O_NOCTTY, mode(attrs, 0666));
        try {
            Stat st = Sys.fstat(fd);
            if (!st.isRegularFile()) {
                if (st.isDirectory()) {
                    if (write) {
                        throw GuestErrors.exception(Sys.EISDIR, Sys.strerror(Sys.EISDIR));
                    }
                    return FileChannel.open(proc(fd), StandardOpenOption.READ);
                }
                throw GuestErrors.exception(Sys.EOPNOTSUPP,
                        "Cordon: special files (FIFOs, sockets, devices) cannot be opened in the sandbox: " + t.guest());
            }
            if (write && isProtected(st.key())) {
                check(op, t, true);
            }
            if (write && st.nlink() > 1) {
                throw deny(FileDecisions.sharedFile(policy, op, t.guest()));
            }
            if (read) {
                reopen.add(StandardOpenOption.READ);
            }
            if (write) {
                reopen.add(append ? StandardOpenOption.APPEND : StandardOpenOption.WRITE);
            }
            FileChannel ch = FileChannel.open(proc(fd), reopen);
            if (t.area() == Area.READ_ONLY) {
                return ch;
            }
            Path guest = t.path();
            QuotaChannel qc = new QuotaChannel(ch, quota, st.key(), append, t.guest(), this::exceeded,
                    deleteOnClose ? () -> deleteQuietly(guest) : null).register();
            if (truncate && st.size() > 0) {
                try {
                    qc.truncate(0);
                } catch (IOException | RuntimeException e) {
                    qc.close();
                    throw e;
                }
            }
            return qc;
        } catch (Sys.Errno e) {
            throw failure(e, t, op);
        } finally {
            Sys.close(fd);
        }
    }

    private void deleteQuietly(Path p) {
        try {
            delete(p);
        } catch (IOException | RuntimeException e) {
            // DELETE_ON_CLOSE is best effort, as in the JDK
        }
    }

    /** Permission bits of a create: never setuid/setgid/sticky (a native-tier run must not gain them). */
    private static int mode(FileAttribute<?>[] attrs, int dflt) {
        for (FileAttribute<?> a : attrs) {
            if (a.name().equals("posix:permissions") && a.value() instanceof Set<?> perms) {
                int m = 0;
                for (Object o : perms) {
                    if (o instanceof PosixFilePermission p) {
                        m |= 0400 >> p.ordinal();
                    }
                }
                return m;
            }
        }
        return dflt;
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        Target t = resolveChecked(dir);
        if (t.root() == null) {
            try {
                DirectoryStream<Path> ds = RUNTIME.newDirectoryStream(t.path(), filter);
                noteRuntime(t.path());
                return ds;
            } catch (SecurityException e) {
                checkOutside(Op.LIST, t);
                throw new AccessDeniedException(t.guest());
            }
        }
        int fd = open(t, Op.LIST, Sys.O_RDONLY | Sys.O_DIRECTORY, 0);
        DirectoryStream<Path> ds;
        try {
            ds = Files.newDirectoryStream(proc(fd));
        } finally {
            Sys.close(fd);
        }
        return new GuestDirectoryStream(ds, dir, filter);
    }

    /** Entries of a host directory shown under the guest path they were asked for. */
    private static final class GuestDirectoryStream implements DirectoryStream<Path> {
        private final DirectoryStream<Path> ds;
        private final Path dir;
        private final DirectoryStream.Filter<? super Path> filter;

        GuestDirectoryStream(DirectoryStream<Path> ds, Path dir, DirectoryStream.Filter<? super Path> filter) {
            this.ds = ds;
            this.dir = dir;
            this.filter = filter;
        }

        @Override
        public Iterator<Path> iterator() {
            Iterator<Path> it = ds.iterator();
            return new Iterator<>() {
                private Path next;

                @Override
                public boolean hasNext() {
                    while (next == null && it.hasNext()) {
                        Path p = dir.resolve(it.next().getFileName().toString());
                        try {
                            if (filter == null || filter.accept(p)) {
                                next = p;
                            }
                        } catch (IOException e) {
                            throw new DirectoryIteratorException(e);
                        }
                    }
                    return next != null;
                }

                @Override
                public Path next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Path p = next;
                    next = null;
                    return p;
                }
            };
        }

        @Override
        public void close() throws IOException {
            ds.close();
        }
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        quota.changed();
        Target t = resolveChecked(dir);
        check(Op.MKDIR, t, false);
        if (t.isRoot()) {
            throw new FileAlreadyExistsException(t.guest());
        }
        int pfd = openParent(t, Op.MKDIR);
        try {
            Sys.mkdirat(pfd, t.name(), mode(attrs, 0777));
        } catch (Sys.Errno e) {
            throw failure(e, t, Op.MKDIR);
        } finally {
            Sys.close(pfd);
        }
    }

    @Override
    public void delete(Path path) throws IOException {
        quota.changed();
        Target t = resolveChecked(path);
        check(Op.DELETE, t, false);
        if (t.isRoot()) {
            throw GuestErrors.exception(16, Sys.strerror(16)); // EBUSY, as for a mount point
        }
        quota.namespace.lock();
        try {
            int pfd = openParent(t, Op.DELETE);
            try {
                Stat st = Sys.lstatAt(pfd, t.name());
                if (isProtected(st.key()) || isProtectedDir(st.key())) {
                    check(Op.DELETE, t, true);
                }
                if (st.isDirectory()) {
                    Sys.unlinkat(pfd, t.name(), Sys.AT_REMOVEDIR);
                } else if (st.isRegularFile()) {
                    synchronized (quota.lock(st.key())) {
                        Stat now = Sys.lstatAt(pfd, t.name()); // its size cannot move while we hold the lock
                        Sys.unlinkat(pfd, t.name(), 0);
                        quota.unlinked(now.key(), now.size(), now.nlink());
                    }
                } else {
                    Sys.unlinkat(pfd, t.name(), 0);
                }
            } catch (Sys.Errno e) {
                throw failure(e, t, Op.DELETE);
            } finally {
                Sys.close(pfd);
            }
        } finally {
            quota.namespace.unlock();
        }
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        quota.changed();
        Target s = resolveChecked(source);
        Target d = resolve(target);
        check(Op.RENAME, s, false);
        check(Op.RENAME, d, false);
        if (s.isRoot() || d.isRoot()) {
            throw GuestErrors.exception(16, Sys.strerror(16));
        }
        boolean replace = false;
        for (CopyOption o : options) {
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            }
        }
        quota.namespace.lock();
        try {
            int sp = openParent(s, Op.RENAME);
            int dp = -1;
            try {
                dp = openParent(d, Op.RENAME);
                Stat ss;
                try {
                    ss = Sys.lstatAt(sp, s.name());
                } catch (Sys.Errno e) {
                    throw failure(e, s, Op.RENAME);
                }
                if (isProtected(ss.key()) || isProtectedDir(ss.key())) {
                    check(Op.RENAME, s, true);
                }
                Stat ds = null;
                try {
                    ds = Sys.lstatAt(dp, d.name());
                } catch (Sys.Errno e) {
                    if (e.errno != Sys.ENOENT) {
                        throw failure(e, d, Op.RENAME);
                    }
                }
                if (ds != null) {
                    if (isProtected(ds.key()) || isProtectedDir(ds.key())) {
                        check(Op.RENAME, d, true);
                    }
                    if (!replace && !ds.key().equals(ss.key())) {
                        throw new FileAlreadyExistsException(d.guest());
                    }
                }
                int flags = replace ? 0 : Sys.RENAME_NOREPLACE;
                try {
                    if (ds != null && ds.isRegularFile() && !ds.key().equals(ss.key())) {
                        synchronized (quota.lock(ds.key())) {
                            Stat now = Sys.lstatAt(dp, d.name());
                            Sys.renameat2(sp, s.name(), dp, d.name(), flags);
                            quota.unlinked(now.key(), now.size(), now.nlink());
                        }
                    } else {
                        Sys.renameat2(sp, s.name(), dp, d.name(), flags);
                    }
                } catch (Sys.Errno e) {
                    if (e.errno == Sys.EXDEV) { // two host filesystems: Python's shutil.move then copies
                        throw GuestErrors.exception(Sys.EXDEV, Sys.strerror(Sys.EXDEV));
                    }
                    throw failure(e, d, Op.RENAME);
                }
            } finally {
                Sys.close(sp);
                Sys.close(dp);
            }
        } finally {
            quota.namespace.unlock();
        }
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        quota.changed();
        boolean replace = false;
        boolean noFollow = false;
        for (CopyOption o : options) {
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (o == LinkOption.NOFOLLOW_LINKS) {
                noFollow = true;
            }
        }
        Map<String, Object> a = noFollow ? readAttributes(source, "isDirectory,isSymbolicLink", LinkOption.NOFOLLOW_LINKS)
                : readAttributes(source, "isDirectory,isSymbolicLink");
        if (replace) {
            try {
                delete(target);
            } catch (NoSuchFileException e) {
                // nothing to replace
            }
        }
        if (Boolean.TRUE.equals(a.get("isSymbolicLink"))) {
            createSymbolicLink(target, readSymbolicLink(source));
            return;
        }
        if (Boolean.TRUE.equals(a.get("isDirectory"))) {
            createDirectory(target);
            return;
        }
        // Through the gate on both sides: the source is read as guest code would, the target is
        // written within the quota.
        try (SeekableByteChannel in = newByteChannel(source, EnumSet.of(StandardOpenOption.READ));
                SeekableByteChannel out = newByteChannel(target,
                        EnumSet.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW))) {
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (in.read(buf) > 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    out.write(buf);
                }
                buf.clear();
            }
        }
    }

    @Override
    public void createLink(Path link, Path existing) throws IOException {
        quota.changed();
        // GraalPy 25.0.3's emulated os.link passes the source path for both arguments, so the
        // denial names what it got rather than relying on their order.
        Target l = resolveChecked(link);
        Target e = resolve(existing);
        String target = l.guest().equals(e.guest()) ? l.guest() : l.guest() + " -> " + e.guest();
        throw deny(FileDecisions.hardLink(policy, target));
    }

    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        quota.changed();
        Target l = resolveChecked(link);
        check(Op.SYMLINK, l, false);
        if (l.isRoot()) {
            throw new FileAlreadyExistsException(l.guest());
        }
        // The target is checked lexically here and stored relative to the link, so the link means
        // the same file in the guest's namespace and on the host; whether it still stays inside
        // after later renames is decided at each use by RESOLVE_BENEATH.
        Path parent = l.path().getParent();
        Path abs = (target.isAbsolute() ? target : parent.resolve(target)).normalize();
        String as = abs.toString();
        if (!as.equals(l.root().guest) && !as.startsWith(l.root().prefix)) {
            throw deny(FileDecisions.symlinkOut(policy, l.guest(), target.toString()));
        }
        String stored = parent.relativize(abs).toString();
        if (stored.isEmpty()) {
            stored = ".";
        }
        int pfd = openParent(l, Op.SYMLINK);
        try {
            Sys.symlinkat(stored, pfd, l.name());
        } catch (Sys.Errno e) {
            throw failure(e, l, Op.SYMLINK);
        } finally {
            Sys.close(pfd);
        }
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        Target t = resolveChecked(link);
        if (t.root() == null) {
            try {
                Path p = RUNTIME.readSymbolicLink(t.path());
                noteRuntime(t.path());
                return p;
            } catch (SecurityException e) {
                checkOutside(Op.READLINK, t);
                throw new NotLinkException(t.guest());
            }
        }
        if (t.isRoot()) {
            throw new NotLinkException(t.guest());
        }
        int pfd = openParent(t, Op.READLINK);
        try {
            return Path.of(Sys.readlinkat(pfd, t.name()));
        } catch (Sys.Errno e) {
            if (e.errno == Sys.EINVAL) {
                throw new NotLinkException(t.guest());
            }
            throw failure(e, t, Op.READLINK);
        } finally {
            Sys.close(pfd);
        }
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        quota.changed();
        String name = attribute.substring(attribute.indexOf(':') + 1);
        Op op = name.endsWith("Time") ? Op.UTIME : Op.CHMOD;
        Target t = resolveChecked(path);
        check(op, t, false);
        int fd = open(t, op, Sys.O_PATH | (noFollow(options) ? Sys.O_NOFOLLOW : 0), 0);
        try {
            Stat st = Sys.fstat(fd);
            if (isProtected(st.key()) || isProtectedDir(st.key())) {
                check(op, t, true);
            }
            if (st.isSymbolicLink()) {
                throw new FileSystemLoopException(t.guest()); // a link itself: unsupported, as in the JDK
            }
            switch (name) {
                case "lastModifiedTime", "lastAccessTime", "creationTime" ->
                        Files.setAttribute(proc(fd), "basic:" + name, value);
                // A permission set has no setuid/setgid/sticky bits, so none can be set this way.
                case "permissions" -> Files.setAttribute(proc(fd), "posix:permissions", value);
                default -> throw new UnsupportedOperationException("setting " + attribute + " is not supported in the sandbox");
            }
        } catch (Sys.Errno e) {
            throw failure(e, t, op);
        } finally {
            Sys.close(fd);
        }
    }

    @Override
    public long getFileStoreTotalSpace(Path path) {
        return quota.max;
    }

    @Override
    public long getFileStoreUnallocatedSpace(Path path) {
        return Math.max(0, quota.max - quota.used());
    }

    @Override
    public long getFileStoreUsableSpace(Path path) {
        return Math.max(0, quota.max - quota.used());
    }

    @Override
    public long getFileStoreBlockSize(Path path) {
        return 4096;
    }

    @Override
    public boolean isFileStoreReadOnly(Path path) {
        Target t = resolve(path);
        return switch (t.area()) {
            case WORKSPACE -> !policy.writable();
            case TMP -> false;
            default -> true;
        };
    }
}
