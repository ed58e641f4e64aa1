package dev.cordon.packages;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.graalvm.polyglot.io.FileSystem;

/**
 * The session's site directory ({@code <workspace_dir>/.cordon/site-packages}), read and changed
 * only through the session's workspace filesystem gate, with guest paths. That gives the installer
 * the gate's guarantees for free: every path is resolved beneath the workspace by the kernel
 * ({@code openat2(RESOLVE_BENEATH)}), so a link guest code planted ({@code .cordon -> /etc}) leads
 * nowhere; every byte written is counted against {@code filesystem.max_size_mb}; Cordon's own
 * log files cannot be touched.
 *
 * <p>An install is a {@link Transaction}: files are unpacked into a staging directory beside the
 * site directory, verified, and only then moved into place one by one (a rename each); files they
 * replace are moved aside first. Any failure moves everything back and removes the staging
 * directory, so the workspace is left as it was.
 */
final class SiteDir {

    static final String SITE_REL = ".cordon/site-packages";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A distribution installed in the site directory. */
    record Installed(String name, Pep440.Version version, String distInfo, List<String> files, CoreMetadata metadata) { }

    private final FileSystem fs;
    private final String workspace;
    final String site;

    SiteDir(FileSystem fs, String workspaceDir) {
        this.fs = fs;
        this.workspace = workspaceDir;
        this.site = guestSite(workspaceDir);
    }

    /** The site directory's guest path for a workspace. */
    static String guestSite(String workspaceDir) {
        return (workspaceDir.endsWith("/") ? workspaceDir : workspaceDir + "/") + SITE_REL;
    }

    Path path(String guest) {
        return fs.parsePath(guest);
    }

    String join(String dir, String rel) {
        return dir + "/" + rel;
    }

    boolean exists(String guest) {
        try {
            fs.readAttributes(path(guest), "isRegularFile", LinkOption.NOFOLLOW_LINKS);
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    boolean isDirectory(String guest) {
        try {
            Object d = fs.readAttributes(path(guest), "isDirectory", LinkOption.NOFOLLOW_LINKS).get("isDirectory");
            return Boolean.TRUE.equals(d);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    List<String> list(String guest) throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = fs.newDirectoryStream(path(guest), p -> true)) {
            for (Path p : ds) {
                out.add(p.getFileName().toString());
            }
        }
        return out;
    }

    byte[] read(String guest, long max) throws IOException {
        try (SeekableByteChannel ch = fs.newByteChannel(path(guest), Set.of(StandardOpenOption.READ))) {
            long size = ch.size();
            if (size > max) {
                throw new IOException(guest + " is larger than " + max + " bytes");
            }
            ByteBuffer b = ByteBuffer.allocate((int) size);
            while (b.hasRemaining() && ch.read(b) > 0) {
                // read it all
            }
            return b.array();
        }
    }

    /** Distributions installed in the site directory, by normalised name. */
    Map<String, Installed> installed() {
        Map<String, Installed> out = new LinkedHashMap<>();
        if (!isDirectory(site)) {
            return out;
        }
        try {
            for (String n : list(site)) {
                if (!n.endsWith(".dist-info")) {
                    continue;
                }
                try {
                    CoreMetadata md = CoreMetadata.parse(read(join(join(site, n), "METADATA"), SimpleIndex.MAX_METADATA));
                    List<String> files = new ArrayList<>();
                    String rec = new String(read(join(join(site, n), "RECORD"), 16L << 20), StandardCharsets.UTF_8);
                    for (String line : rec.split("\r?\n")) {
                        if (!line.isBlank()) {
                            String p = line.startsWith("\"") ? line.substring(1, line.indexOf('"', 1)) : line.split(",")[0];
                            files.add(p);
                        }
                    }
                    Pep440.Version v = Pep440.Version.tryParse(md.version());
                    if (v != null) {
                        out.put(md.normalizedName(), new Installed(md.normalizedName(), v, n, List.copyOf(files), md));
                    }
                } catch (IOException | RuntimeException e) {
                    // a broken dist-info (guest code may edit the site dir) counts as not installed
                }
            }
        } catch (IOException e) {
            // unreadable: nothing installed
        }
        return out;
    }

    /** Creates {@code guest} and missing parents; returns the directories it created, outermost first. */
    List<String> mkdirs(String guest) throws IOException {
        List<String> missing = new ArrayList<>();
        String cur = guest;
        while (!cur.equals(workspace) && !isDirectory(cur)) {
            missing.addFirst(cur);
            cur = cur.substring(0, cur.lastIndexOf('/'));
        }
        for (String d : missing) {
            try {
                fs.createDirectory(path(d));
            } catch (FileAlreadyExistsException e) {
                if (!isDirectory(d)) {
                    throw e;
                }
            }
        }
        return missing;
    }

    /** Removes a file, or a directory tree (never following links: a link is removed as a link). */
    void deleteTree(String guest) {
        try {
            if (isDirectory(guest)) {
                for (String n : list(guest)) {
                    deleteTree(join(guest, n));
                }
            }
            fs.delete(path(guest));
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException | SecurityException e) {
            // best effort; what remains is inside the workspace and counted
        }
    }

    void deleteIfEmpty(String guest) {
        try {
            if (isDirectory(guest) && list(guest).isEmpty()) {
                fs.delete(path(guest));
            }
        } catch (IOException | SecurityException e) {
            // not empty or gone
        }
    }

    /** Starts an install: a fresh staging directory next to the site directory. */
    Transaction begin() throws IOException {
        List<String> created = mkdirs(site);
        String stage = join(site.substring(0, site.lastIndexOf('/')), ".install-" + HexFormat.of().formatHex(randomBytes()));
        fs.createDirectory(path(stage));
        fs.createDirectory(path(join(stage, "new")));
        fs.createDirectory(path(join(stage, "old")));
        return new Transaction(stage, created);
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return b;
    }

    /** One install in progress; see the class comment. */
    final class Transaction {
        final String stage;
        private final List<String> createdBase;
        /** Site-relative paths moved into place, and those moved aside. */
        private final List<String> placed = new ArrayList<>();
        private final List<String> movedAside = new ArrayList<>();
        private final List<String> createdDirs = new ArrayList<>();

        private Transaction(String stage, List<String> createdBase) {
            this.stage = stage;
            this.createdBase = createdBase;
        }

        /** Writes {@code in} to the staged copy of {@code rel}; returns the sha256 (hex) of what was written. */
        String stageFile(String rel, InputStream in) throws IOException {
            String dest = join(join(stage, "new"), rel);
            mkdirs(dest.substring(0, dest.lastIndexOf('/')));
            MessageDigest md = SimpleIndex.sha();
            try (SeekableByteChannel ch = fs.newByteChannel(path(dest),
                    Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))) {
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) {
                        if (ch.write(bb) <= 0) {
                            throw new IOException("no space left writing " + dest);
                        }
                    }
                }
            }
            return HexFormat.of().formatHex(md.digest());
        }

        void stageText(String rel, String text) throws IOException {
            stageFile(rel, new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        }

        /** Moves an installed file aside (upgrade / replacement). */
        void moveAside(String rel) throws IOException {
            String from = join(site, rel);
            if (!exists(from)) {
                return;
            }
            String to = join(join(stage, "old"), rel);
            mkdirs(to.substring(0, to.lastIndexOf('/')));
            fs.move(path(from), path(to));
            movedAside.add(rel);
        }

        /** Moves a staged file into the site directory. */
        void place(String rel) throws IOException {
            String to = join(site, rel);
            String parent = to.substring(0, to.lastIndexOf('/'));
            createdDirs.addAll(mkdirs(parent));
            if (exists(to)) {
                moveAside(rel);
            }
            fs.move(path(join(join(stage, "new"), rel)), path(to));
            placed.add(rel);
        }

        /** Puts everything back as it was (best effort against a concurrently meddling guest). */
        void rollback() {
            for (int i = placed.size() - 1; i >= 0; i--) {
                try {
                    fs.delete(path(join(site, placed.get(i))));
                } catch (IOException | SecurityException e) {
                    // keep going: restore what we can
                }
            }
            for (int i = movedAside.size() - 1; i >= 0; i--) {
                String rel = movedAside.get(i);
                try {
                    String to = join(site, rel);
                    mkdirs(to.substring(0, to.lastIndexOf('/')));
                    fs.move(path(join(join(stage, "old"), rel)), path(to));
                } catch (IOException | SecurityException e) {
                    // keep going
                }
            }
            for (int i = createdDirs.size() - 1; i >= 0; i--) {
                deleteIfEmpty(createdDirs.get(i));
            }
            finish();
            for (int i = createdBase.size() - 1; i >= 0; i--) {
                deleteIfEmpty(createdBase.get(i));
            }
        }

        /** Removes the staging directory (and with it the replaced files). */
        void finish() {
            deleteTree(stage);
        }

        /** After an upgrade: directories of the old version that are now empty. */
        void pruneEmpty(List<String> rels) {
            for (String rel : rels) {
                String d = join(site, rel);
                while (d.length() > site.length()) {
                    deleteIfEmpty(d);
                    d = d.substring(0, d.lastIndexOf('/'));
                }
            }
        }
    }
}
