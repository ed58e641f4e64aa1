package dev.cordon.nativetier;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the native tier finds its tools and keeps its state. {@link #defaults()} suits Debian 12;
 * system properties {@code cordon.native.*} override single fields (see {@link #fromSystemProperties()}).
 *
 * @param bwrap      bubblewrap ({@code apt-get install bubblewrap})
 * @param setpriv    util-linux setpriv, used to drop root to the sandbox uid
 * @param prlimit    util-linux prlimit
 * @param shell      the POSIX shell of the launch trampoline (runs before the sandbox, as the JVM user)
 * @param python     the CPython of the native worker ({@code apt-get install python3})
 * @param mkfs       mkfs.ext4 for the size-bounded workspace image ({@code apt-get install e2fsprogs})
 * @param stateDir   host directory for compiled seccomp programs, helper files, uid leases, sockets
 *                   and workspace images (created 0711, owned by the JVM user)
 * @param uidBase    first dedicated sandbox uid (root only)
 * @param uidCount   how many uids to lease from
 * @param tmpMb      size of each sandbox's private /tmp (tmpfs, counted in its memory)
 * @param workspaceImages whether to bound workspaces with ext4 images where the host allows it
 *                   (default true; false forces the scanning fallback)
 */
public record NativeConfig(Path bwrap, Path setpriv, Path prlimit, Path shell, Path python, Path mkfs,
                           Path stateDir, long uidBase, int uidCount, int tmpMb, boolean workspaceImages) {

    public NativeConfig {
        Objects.requireNonNull(bwrap, "bwrap");
        Objects.requireNonNull(setpriv, "setpriv");
        Objects.requireNonNull(prlimit, "prlimit");
        Objects.requireNonNull(shell, "shell");
        Objects.requireNonNull(python, "python");
        Objects.requireNonNull(mkfs, "mkfs");
        Objects.requireNonNull(stateDir, "stateDir");
        if (uidBase <= 0 || uidCount <= 0 || uidBase + uidCount > 4_294_967_294L) {
            throw new IllegalArgumentException("bad sandbox uid range " + uidBase + "+" + uidCount);
        }
        if (tmpMb <= 0) {
            throw new IllegalArgumentException("tmpMb must be positive");
        }
    }

    public static NativeConfig defaults() {
        boolean root = "root".equals(System.getProperty("user.name"));
        Path state = root ? Path.of("/run/cordon")
                : Path.of(System.getProperty("java.io.tmpdir"), "cordon-" + System.getProperty("user.name"));
        return new NativeConfig(Path.of("/usr/bin/bwrap"), Path.of("/usr/bin/setpriv"), Path.of("/usr/bin/prlimit"),
                Path.of("/bin/sh"), Path.of("/usr/bin/python3"), Path.of("/usr/sbin/mkfs.ext4"), state,
                2_100_000_000L, 4096, 64, true);
    }

    /** {@link #defaults()} with {@code cordon.native.bwrap}, {@code .python}, {@code .stateDir}, ... applied. */
    public static NativeConfig fromSystemProperties() {
        NativeConfig d = defaults();
        return new NativeConfig(path("bwrap", d.bwrap), path("setpriv", d.setpriv), path("prlimit", d.prlimit),
                path("shell", d.shell), path("python", d.python), path("mkfs", d.mkfs), path("stateDir", d.stateDir),
                Long.getLong("cordon.native.uidBase", d.uidBase), Integer.getInteger("cordon.native.uidCount", d.uidCount),
                Integer.getInteger("cordon.native.tmpMb", d.tmpMb),
                Boolean.parseBoolean(System.getProperty("cordon.native.workspaceImages", "true")));
    }

    private static Path path(String key, Path dflt) {
        String v = System.getProperty("cordon.native." + key);
        return v == null ? dflt : Path.of(v);
    }

    public NativeConfig withBwrap(Path p) {
        return new NativeConfig(p, setpriv, prlimit, shell, python, mkfs, stateDir, uidBase, uidCount, tmpMb,
                workspaceImages);
    }

    public NativeConfig withPython(Path p) {
        return new NativeConfig(bwrap, setpriv, prlimit, shell, p, mkfs, stateDir, uidBase, uidCount, tmpMb,
                workspaceImages);
    }

    public NativeConfig withStateDir(Path p) {
        return new NativeConfig(bwrap, setpriv, prlimit, shell, python, mkfs, p, uidBase, uidCount, tmpMb,
                workspaceImages);
    }

    public NativeConfig withWorkspaceImages(boolean images) {
        return new NativeConfig(bwrap, setpriv, prlimit, shell, python, mkfs, stateDir, uidBase, uidCount, tmpMb,
                images);
    }
}
