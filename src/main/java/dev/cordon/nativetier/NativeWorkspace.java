package dev.cordon.nativetier;

import dev.cordon.policy.FilesystemPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The native tier's side of one session's workspace: the sandbox uid that owns it, the bound on its
 * size, the socket directory, and the stub account files. Shared by the session's
 * {@link NativeProcessHandler} and {@link NativeSession} so that files one writes the other can
 * change (same owner).
 *
 * <h2>How {@code max_size_mb} is bounded</h2>
 * {@code RLIMIT_FSIZE} bounds one file, not a directory; scanning and killing lets a burst through.
 * When the JVM is root and may mount (the normal case for this tier), the workspace lives in a
 * <b>sparse ext4 image, loop-mounted</b> ({@code nosuid,nodev,noatime}) and bind-mounted over the
 * session's host directory: a write past the bound fails with ENOSPC in the kernel, whatever
 * process makes it, in either tier, and the host sees the files live. The image is a little larger
 * than the bound (ext4 metadata) and every free block beyond {@code max_size_mb} is reserved for
 * root, which the sandbox uid cannot use: the guest gets exactly the bound, while the host can
 * still append the audit log when the guest has filled its share. The image holds the directory's
 * previous content (copied in at open) and is copied back into the real directory at
 * {@link #close()}, so the files outlive the session. Costs: ~25-40 ms to create and mount, disk
 * only for what is written (sparse), a copy of the workspace at close. Limit: the bound counts
 * blocks, so many tiny files reach it before their byte sum does.
 *
 * <p>When mounting is not possible (not root, no loop devices, no CAP_SYS_ADMIN), the fallback is
 * a scan of the directory every 200 ms while sandboxed code runs, killing the sandbox on excess
 * (limit {@code disk}), plus RLIMIT_FSIZE. {@link NativeTier#check()} says which one is in force.
 */
public final class NativeWorkspace implements AutoCloseable {

    /** How the workspace size is bounded. */
    public enum Quota {
        /** ext4 image: writes fail with ENOSPC at the bound. */
        IMAGE,
        /** scan + kill: a burst between scans can exceed the bound. */
        SCAN
    }

    private static final AtomicLong IDS = new AtomicLong();

    private final NativeTier tier;
    private final FilesystemPolicy fs;
    private final Path host;
    private final SandboxUids.Lease lease;
    private final long uid;
    private final long gid;
    private final Quota quota;
    private final Path image;
    private final Path mountPoint;
    private final Path ioDir;
    private final Path etcDir;
    private volatile EgressProxy egress;
    private boolean closed;

    private NativeWorkspace(NativeTier tier, FilesystemPolicy fs, Path host, SandboxUids.Lease lease, long uid,
                            long gid, Quota quota, Path image, Path mountPoint, Path ioDir, Path etcDir) {
        this.tier = tier;
        this.fs = fs;
        this.host = host;
        this.lease = lease;
        this.uid = uid;
        this.gid = gid;
        this.quota = quota;
        this.image = image;
        this.mountPoint = mountPoint;
        this.ioDir = ioDir;
        this.etcDir = etcDir;
    }

    /**
     * Prepares {@code hostWorkspace} (created if missing) for sandboxes of {@code fs}.
     *
     * @throws NativeTierUnavailableException when the tier cannot run here
     */
    public static NativeWorkspace open(NativeTier tier, FilesystemPolicy fs, Path hostWorkspace) throws IOException {
        tier.requireAvailable();
        return open(tier, fs, hostWorkspace, tier.imageQuota());
    }

    /** A plain workspace for the tier's probe sandbox (no availability check, no image). */
    static NativeWorkspace forProbe(NativeTier tier, Path scratch) throws IOException {
        return open(tier, FilesystemPolicy.DEFAULT, scratch, false);
    }

    private static NativeWorkspace open(NativeTier tier, FilesystemPolicy fs, Path hostWorkspace, boolean image)
            throws IOException {
        Path host = hostWorkspace.toAbsolutePath().normalize();
        Files.createDirectories(host);
        String id = "w" + ProcessHandle.current().pid() + "-" + IDS.incrementAndGet();
        SandboxUids.Lease lease = null;
        long uid;
        long gid;
        if (tier.root()) {
            lease = tier.uids().lease();
            uid = lease.uid;
            gid = lease.uid;
        } else {
            uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            gid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        }
        Path state = tier.config().stateDir();
        Path ioDir = state.resolve("io").resolve(id);
        Path etcDir = state.resolve("etc").resolve(id);
        Path imagePath = null;
        Path mountPoint = null;
        Quota quota = Quota.SCAN;
        boolean ok = false;
        try {
            Files.createDirectories(ioDir);
            Files.createDirectories(etcDir);
            chown(ioDir, uid, gid);
            Files.setPosixFilePermissions(ioDir, PosixFilePermissions.fromString("rwx------"));
            writeAccounts(etcDir, uid, gid, fs.workspaceDir());
            if (image) {
                imagePath = state.resolve("images").resolve(id + ".img");
                mountPoint = state.resolve("ws").resolve(id);
                mountImage(tier, fs, host, imagePath, mountPoint, uid, gid);
                quota = Quota.IMAGE;
            } else {
                chownTree(host, uid, gid);
                if (tier.root() && !traversable(host)) {
                    // The sandbox uid must reach the directory bwrap binds: show it under the state dir.
                    mountPoint = state.resolve("ws").resolve(id);
                    Files.createDirectories(mountPoint);
                    try {
                        HostCommands.run(List.of("mount", "--bind", host.toString(), mountPoint.toString()));
                    } catch (IOException e) {
                        Files.deleteIfExists(mountPoint);
                        mountPoint = null;
                        throw new IOException("the sandbox uid " + uid + " cannot reach " + host + " (a parent"
                                + " directory is not searchable by others) and this host cannot bind-mount it"
                                + " elsewhere (" + e.getMessage() + "); put the workspace under a directory with o+x");
                    }
                }
            }
            NativeWorkspace w = new NativeWorkspace(tier, fs, host, lease, uid, gid, quota, imagePath, mountPoint, ioDir,
                    etcDir);
            w.makeStandardDirs();
            ok = true;
            return w;
        } finally {
            if (!ok) {
                if (mountPoint != null) {
                    if (imagePath != null) {
                        unmountQuietly(host);
                    }
                    unmountQuietly(mountPoint);
                }
                if (imagePath != null) {
                    Files.deleteIfExists(imagePath);
                }
                deleteTree(ioDir);
                deleteTree(etcDir);
                if (lease != null) {
                    lease.close();
                }
            }
        }
    }

    private static void mountImage(NativeTier tier, FilesystemPolicy fs, Path host, Path image, Path mountPoint,
                                   long uid, long gid) throws IOException {
        Files.createDirectories(image.getParent());
        Files.createDirectories(mountPoint);
        long bound = fs.maxSizeBytes();
        // ext4 needs room for inode tables, group descriptors and directories: make the image a
        // little larger, then reserve every free block beyond the bound for root. The sandbox uid
        // cannot use reserved blocks, so it gets exactly max_size_mb of free space; the host (root)
        // can still append the audit log or copy an upload when the guest has filled its share.
        long size = bound + bound / 16 + 4L * 1024 * 1024;
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.position(size - 1);
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]));
        }
        Path mkfs = tier.config().mkfs();
        HostCommands.run(List.of(mkfs.toString(), "-q", "-F", "-m", "0", "-O", "^has_journal",
                "-E", "root_owner=" + uid + ":" + gid + ",lazy_itable_init=1,nodiscard", image.toString()));
        long freeBlocks = -1;
        long blockSize = -1;
        for (String line : HostCommands.run(List.of(sibling(mkfs, "dumpe2fs"), "-h", image.toString())).split("\n")) {
            if (line.startsWith("Free blocks:")) {
                freeBlocks = Long.parseLong(line.substring(12).strip());
            } else if (line.startsWith("Block size:")) {
                blockSize = Long.parseLong(line.substring(11).strip());
            }
        }
        if (freeBlocks < 0 || blockSize <= 0) {
            throw new IOException("cannot read the free block count of " + image);
        }
        long reserve = Math.max(0, freeBlocks - bound / blockSize);
        HostCommands.run(List.of(sibling(mkfs, "tune2fs"), "-r", Long.toString(reserve), image.toString()));
        HostCommands.run(List.of("mount", "-o", "loop,nosuid,nodev,noatime", image.toString(), mountPoint.toString()));
        try {
            Files.deleteIfExists(mountPoint.resolve("lost+found"));
            copyTree(host, mountPoint);
            chownTree(mountPoint, uid, gid);
            HostCommands.run(List.of("mount", "--bind", mountPoint.toString(), host.toString()));
        } catch (IOException | RuntimeException e) {
            unmountQuietly(mountPoint);
            throw e;
        }
    }

    /** dumpe2fs and tune2fs come with mkfs.ext4 (e2fsprogs), in the same directory. */
    private static String sibling(Path mkfs, String tool) {
        Path p = mkfs.resolveSibling(tool);
        return Files.isExecutable(p) ? p.toString() : tool;
    }

    /**
     * Starts the session's egress proxy on this workspace's socket dir: from then on, sandboxes
     * started here get the bridge, the proxy settings and the seccomp variant that allows inet
     * sockets. Call it only when the policy allows some egress (network policy not {@code deny});
     * without it the sandbox has loopback only and no inet sockets at all.
     *
     * @param log called for each allowed connection when it ends (for {@code logging.egress}); may be null
     */
    public synchronized EgressProxy startEgress(EgressGate gate, EgressGate.Resolver resolver,
                                                dev.cordon.decision.DenialSink sink,
                                                java.util.function.Consumer<EgressProxy.Connection> log)
            throws IOException {
        if (egress != null) {
            return egress;
        }
        EgressProxy p = EgressProxy.start(ioDir.resolve("proxy.sock"), gate, resolver, sink, log);
        if (tier.root()) {
            chown(p.socket(), uid, gid);
        }
        egress = p;
        return p;
    }

    /** The running egress proxy, or null when the sandboxes have no egress. */
    public EgressProxy egressProxy() {
        return egress;
    }

    /** The session directory the host and the caller see. */
    public Path host() {
        return host;
    }

    public Quota quota() {
        return quota;
    }

    /** The host uid sandboxes of this workspace run as. */
    public long uid() {
        return uid;
    }

    long gid() {
        return gid;
    }

    FilesystemPolicy filesystem() {
        return fs;
    }

    NativeTier tier() {
        return tier;
    }

    /** What bwrap binds at workspace_dir: the image mount (reachable by the sandbox uid) or the host dir. */
    Path bindSource() {
        return mountPoint != null ? mountPoint : host;
    }

    Path ioDir() {
        return ioDir;
    }

    Path passwdFile() {
        return etcDir.resolve("passwd");
    }

    Path groupFile() {
        return etcDir.resolve("group");
    }

    Path hostsFile() {
        return etcDir.resolve("hosts");
    }

    /** Bytes used by files in the workspace (apparent sizes; links not followed). */
    long usedBytes() {
        long[] sum = {0};
        try {
            Files.walkFileTree(bindSource(), new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    sum[0] += attrs.size();
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // a vanished file during the walk: count what was seen
        }
        return sum[0];
    }

    /** Free bytes left under the bound. */
    long freeBytes() {
        if (quota == Quota.IMAGE) {
            try {
                return Files.getFileStore(mountPoint).getUsableSpace();
            } catch (IOException e) {
                return 0;
            }
        }
        return Math.max(0, fs.maxSizeBytes() - usedBytes());
    }

    /**
     * Empties the workspace for a call that must not see earlier files
     * ({@code persist_across_calls: false}), keeping the upload dir and the audit log.
     */
    void reset(java.util.Collection<String> keepGuestFiles) throws IOException {
        Path root = bindSource();
        Path uploads = toHostPath(fs.uploadDir());
        List<Path> keep = new ArrayList<>();
        for (String k : keepGuestFiles) {
            Path h = toHostPath(k);
            if (h != null) {
                keep.add(h);
            }
        }
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.toList()) {
                // Cordon's own logs (and the directories holding them) survive, like the uploads.
                if ((uploads != null && (uploads.equals(p) || uploads.startsWith(p)))
                        || keep.stream().anyMatch(k -> k.equals(p) || k.startsWith(p))) {
                    continue;
                }
                deleteTree(p);
            }
        }
        makeStandardDirs();
    }

    /**
     * The host's files in a workspace that guest code may read but never change: {@code log_file},
     * {@code audit_file} and the egress log (explicit, or the default the session uses when egress
     * records are kept). Bound read-only into every sandbox and kept by {@link #reset}.
     */
    static List<String> protectedGuestFiles(dev.cordon.policy.Policy p) {
        List<String> out = new ArrayList<>();
        var l = p.logging();
        var mode = p.network().mode();
        String egress = l.egressFile();
        if (egress == null && mode != dev.cordon.policy.NetworkPolicy.Mode.DENY
                && (l.egress() || mode == dev.cordon.policy.NetworkPolicy.Mode.PERMISSIVE)) {
            egress = p.filesystem().workspaceDir() + "/.cordon/egress.jsonl";
        }
        for (String f : new String[] {l.logFile(), l.auditFile(), egress}) {
            if (f != null) {
                out.add(f);
            }
        }
        return out;
    }

    /** The upload and output dirs exist in every workspace (as the in-JVM tier's Workspace makes them). */
    private void makeStandardDirs() throws IOException {
        for (String g : new String[] {fs.uploadDir(), fs.outputDir()}) {
            Path d = toHostPath(g);
            if (d != null && !Files.isDirectory(d)) {
                Files.createDirectories(d);
                if (tier.root()) {
                    chownTree(d, uid, gid);
                }
            }
        }
    }

    Path toHostPath(String guestPath) {
        Path g = Path.of(guestPath).normalize();
        Path ws = Path.of(fs.workspaceDir());
        if (!g.startsWith(ws)) {
            return null;
        }
        return bindSource().resolve(ws.relativize(g).toString()).normalize();
    }

    /**
     * Unmounts, copies the image's files back into the real host directory (so they outlive the
     * session), removes the image and gives the uid back. Sandboxes must have ended.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (egress != null) {
            egress.close();
        }
        try {
            if (quota == Quota.IMAGE) {
                unmountQuietly(host);
                try {
                    mirror(mountPoint, host);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot copy the workspace image back to " + host
                            + "; its files stay in " + image, e);
                }
                unmountQuietly(mountPoint);
                Files.deleteIfExists(image);
                Files.deleteIfExists(mountPoint);
            } else if (mountPoint != null) {
                unmountQuietly(mountPoint); // the bind that made the directory reachable
                Files.deleteIfExists(mountPoint);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteTree(ioDir);
            deleteTree(etcDir);
            if (lease != null) {
                lease.close();
            }
        }
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static void writeAccounts(Path dir, long uid, long gid, String home) throws IOException {
        // Stub account files: getpass.getuser(), pwd.getpwuid(os.getuid()) and ~ expansion work,
        // and nothing of the host's accounts is visible.
        Files.writeString(dir.resolve("passwd"), "root:x:0:0::/:/usr/sbin/nologin\n"
                + "sandbox:x:" + uid + ":" + gid + ":Cordon sandbox:" + home + ":/usr/sbin/nologin\n"
                + "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n");
        Files.writeString(dir.resolve("group"), "root:x:0:\nsandbox:x:" + gid + ":\nnogroup:x:65534:\n");
        Files.writeString(dir.resolve("hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        for (String f : new String[] {"passwd", "group", "hosts"}) {
            Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    private static boolean traversable(Path p) {
        for (Path a = p.getParent(); a != null; a = a.getParent()) {
            try {
                if (!Files.getPosixFilePermissions(a).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    static void chown(Path p, long uid, long gid) throws IOException {
        Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
    }

    static void chownTree(Path root, long uid, long gid) throws IOException {
        if ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") != 0) {
            return; // not root: files are already ours
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                chown(p, uid, gid);
            }
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path rel = from.relativize(p);
                if (rel.toString().isEmpty()) {
                    continue;
                }
                Path dest = to.resolve(rel.toString());
                if (Files.isSymbolicLink(dest.getParent())) {
                    throw new IOException("refusing to copy through a link: " + dest.getParent());
                }
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    if (!Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
                        Files.deleteIfExists(dest);
                        Files.createDirectory(dest);
                    }
                } else {
                    Files.copy(p, dest, LinkOption.NOFOLLOW_LINKS, StandardCopyOption.COPY_ATTRIBUTES,
                            StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /**
     * Makes {@code to} hold exactly what {@code from} holds, as root, without ever following a link
     * on either side. {@code from} is guest-controlled (the image): first everything in {@code to}
     * that is absent from {@code from} or has another type there is removed, top-down (a link in
     * {@code to} is removed, never traversed), so that copying cannot write through a link into the
     * host.
     */
    static void mirror(Path from, Path to) throws IOException {
        List<Path> stale = new ArrayList<>();
        Files.walkFileTree(to, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                if (dir.equals(to)) {
                    return FileVisitResult.CONTINUE;
                }
                if (!sameType(dir, from.resolve(to.relativize(dir).toString()))) {
                    stale.add(dir);
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (!sameType(file, from.resolve(to.relativize(file).toString()))) {
                    stale.add(file);
                }
                return FileVisitResult.CONTINUE;
            }
        });
        for (Path p : stale) {
            deleteTree(p);
        }
        copyTree(from, to);
    }

    private static boolean sameType(Path a, Path b) {
        try {
            BasicFileAttributes x = Files.readAttributes(a, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            BasicFileAttributes y = Files.readAttributes(b, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return x.isDirectory() == y.isDirectory() && x.isSymbolicLink() == y.isSymbolicLink()
                    && x.isRegularFile() == y.isRegularFile();
        } catch (IOException e) {
            return false;
        }
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            }
        } catch (IOException e) {
            // best effort
        }
    }

    private static void unmountQuietly(Path p) {
        try {
            HostCommands.run(List.of("umount", p.toString()));
        } catch (IOException e) {
            try {
                // Busy (a straggler still has a file open): detach now, the kernel finishes later.
                HostCommands.run(List.of("umount", "-l", p.toString()));
            } catch (IOException e2) {
                // nothing more to do
            }
        }
    }
}
