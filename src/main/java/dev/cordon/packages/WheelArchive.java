package dev.cordon.packages;

import dev.cordon.decision.InstallDecisions;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * One downloaded wheel (PEP 427 / the binary distribution format), opened from a host-private temp
 * file and checked before anything is written:
 * <ul>
 *   <li>exactly one {@code NAME-VERSION.dist-info} directory, naming the same distribution as the
 *       file name and the metadata; {@code Wheel-Version} 1.x;</li>
 *   <li>every member name is a plain relative path (no absolute path, {@code ..}, backslash, NUL,
 *       duplicate); every member is written as a regular file with the bytes it holds, so a member
 *       that claims to be a symbolic link only ever becomes a small file;</li>
 *   <li>every file is listed in {@code RECORD} with a sha256, checked while it is unpacked, and is
 *       no larger than the central directory says (a lying archive stops there).</li>
 * </ul>
 * Files go to the site directory's root ({@code purelib}/{@code platlib}, including
 * {@code .data/purelib} and {@code .data/platlib}); {@code .data/scripts}, {@code headers} and
 * {@code data} are skipped (there is no bin directory in the sandbox) and reported.
 */
final class WheelArchive implements Closeable {

    /** Members, as site-relative destination paths. */
    record Member(String entry, String dest, long size, String sha256) { }

    private static final Pattern SEGMENT = Pattern.compile("[^/\\\\\u0000]+");
    private static final long MAX_MEMBERS = 100_000;

    final TargetEnv.WheelName name;
    final CoreMetadata metadata;
    final String distInfo;
    final List<Member> members;
    final List<String> skipped;
    final long totalBytes;
    private final ZipFile zip;

    private WheelArchive(TargetEnv.WheelName name, ZipFile zip, CoreMetadata metadata, String distInfo,
            List<Member> members, List<String> skipped) {
        this.name = name;
        this.zip = zip;
        this.metadata = metadata;
        this.distInfo = distInfo;
        this.members = List.copyOf(members);
        this.skipped = List.copyOf(skipped);
        this.totalBytes = members.stream().mapToLong(Member::size).sum();
    }

    static WheelArchive open(Path file, TargetEnv.WheelName name) throws IOException {
        ZipFile zip = new ZipFile(file.toFile());
        try {
            return read(zip, name);
        } catch (IllegalArgumentException e) {
            zip.close();
            throw new IOException(name.fileName() + ": " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static WheelArchive read(ZipFile zip, TargetEnv.WheelName name) throws IOException {
        Map<String, ZipEntry> files = new LinkedHashMap<>();
        Set<String> distInfos = new HashSet<>();
        Enumeration<? extends ZipEntry> en = zip.entries();
        int count = 0;
        while (en.hasMoreElements()) {
            ZipEntry e = en.nextElement();
            if (++count > MAX_MEMBERS) {
                throw new IOException(name.fileName() + " has more than " + MAX_MEMBERS + " members");
            }
            String n = e.getName();
            checkName(n, name);
            if (e.isDirectory()) {
                continue;
            }
            if (files.put(n, e) != null) {
                throw new IOException(name.fileName() + ": member " + n + " appears twice");
            }
            String top = n.substring(0, n.indexOf('/') < 0 ? n.length() : n.indexOf('/'));
            if (top.endsWith(".dist-info") && n.indexOf('/') > 0) {
                distInfos.add(top);
            }
        }
        if (distInfos.size() != 1) {
            throw new IOException(name.fileName() + " has " + distInfos.size() + " .dist-info directories; a wheel has one");
        }
        String distInfo = distInfos.iterator().next();
        String diName = distInfo.substring(0, distInfo.length() - ".dist-info".length());
        int dash = diName.lastIndexOf('-');
        if (dash <= 0 || !InstallDecisions.normalize(diName.substring(0, dash)).equals(name.normalizedName())) {
            throw new IOException(name.fileName() + ": its " + distInfo + " names another distribution");
        }
        CoreMetadata md = CoreMetadata.parse(readSmall(zip, files.get(distInfo + "/METADATA"), "METADATA", name));
        if (!md.normalizedName().equals(name.normalizedName())) {
            throw new IOException(name.fileName() + ": METADATA names " + md.name());
        }
        String wheel = new String(readSmall(zip, files.get(distInfo + "/WHEEL"), "WHEEL", name), StandardCharsets.UTF_8);
        String wv = header(wheel, "Wheel-Version");
        if (wv == null || !wv.startsWith("1.")) {
            throw new IOException(name.fileName() + ": unsupported Wheel-Version " + wv);
        }
        Map<String, String[]> record = parseRecord(new String(readSmall(zip, files.get(distInfo + "/RECORD"), "RECORD",
                name), StandardCharsets.UTF_8), name);
        List<Member> members = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        String dataDir = diName + ".data/";
        for (Map.Entry<String, ZipEntry> f : files.entrySet()) {
            String n = f.getKey();
            boolean isRecord = n.equals(distInfo + "/RECORD");
            boolean isSig = n.equals(distInfo + "/RECORD.jws") || n.equals(distInfo + "/RECORD.p7s");
            String[] rec = record.get(n);
            if (!isRecord && !isSig && (rec == null || rec[0] == null)) {
                throw new IOException(name.fileName() + ": " + n + " is not listed with a sha256 in RECORD");
            }
            if (isRecord || isSig) {
                continue; // Cordon writes its own RECORD with the installed paths
            }
            String dest = n;
            if (n.startsWith(dataDir)) {
                String rest = n.substring(dataDir.length());
                int s = rest.indexOf('/');
                String scheme = s < 0 ? rest : rest.substring(0, s);
                if ((scheme.equals("purelib") || scheme.equals("platlib")) && s > 0) {
                    dest = rest.substring(s + 1);
                } else {
                    skipped.add(n);
                    continue;
                }
            }
            long size = f.getValue().getSize();
            if (size < 0) {
                throw new IOException(name.fileName() + ": " + n + " has no size in the central directory");
            }
            members.add(new Member(n, dest, size, rec[0]));
        }
        for (String listed : record.keySet()) {
            if (!files.containsKey(listed) && !listed.endsWith("/") && !listed.equals(distInfo + "/RECORD")) {
                throw new IOException(name.fileName() + ": RECORD lists " + listed + ", which the wheel does not hold");
            }
        }
        Set<String> dests = new HashSet<>();
        for (Member m : members) {
            if (!dests.add(m.dest())) {
                throw new IOException(name.fileName() + ": two members unpack to " + m.dest());
            }
        }
        return new WheelArchive(name, zip, md, distInfo, members, skipped);
    }

    private static void checkName(String n, TargetEnv.WheelName name) throws IOException {
        String body = n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
        if (body.isEmpty() || body.startsWith("/") || n.length() > 1024) {
            throw new IOException(name.fileName() + ": unsafe member name " + n);
        }
        for (String seg : body.split("/", -1)) {
            if (!SEGMENT.matcher(seg).matches() || seg.equals(".") || seg.equals("..") || seg.length() > 255) {
                throw new IOException(name.fileName() + ": unsafe member name " + n);
            }
        }
    }

    private static byte[] readSmall(ZipFile zip, ZipEntry e, String what, TargetEnv.WheelName name) throws IOException {
        if (e == null) {
            throw new IOException(name.fileName() + " has no " + what);
        }
        if (e.getSize() > SimpleIndex.MAX_METADATA) {
            throw new IOException(name.fileName() + ": " + what + " is too large");
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) SimpleIndex.MAX_METADATA + 1);
            if (b.length > SimpleIndex.MAX_METADATA) {
                throw new IOException(name.fileName() + ": " + what + " is too large");
            }
            return b;
        }
    }

    static String header(String text, String key) {
        for (String line : text.split("\r?\n")) {
            int c = line.indexOf(':');
            if (c > 0 && line.substring(0, c).strip().equalsIgnoreCase(key)) {
                return line.substring(c + 1).strip();
            }
        }
        return null;
    }

    /** RECORD: CSV rows {@code path,sha256=urlsafe-b64,size}. Returns path -> {hex sha256 or null, size}. */
    static Map<String, String[]> parseRecord(String text, TargetEnv.WheelName name) throws IOException {
        Map<String, String[]> out = new HashMap<>();
        for (String line : text.split("\r?\n")) {
            if (line.isBlank()) {
                continue;
            }
            List<String> cells = csv(line);
            if (cells.isEmpty()) {
                continue;
            }
            String path = cells.get(0);
            String hash = cells.size() > 1 ? cells.get(1) : "";
            String hex = null;
            if (hash.toLowerCase(Locale.ROOT).startsWith("sha256=")) {
                try {
                    hex = java.util.HexFormat.of().formatHex(Base64.getUrlDecoder().decode(pad(hash.substring(7))));
                } catch (IllegalArgumentException e) {
                    throw new IOException(name.fileName() + ": bad hash in RECORD for " + path);
                }
            } else if (!hash.isEmpty()) {
                throw new IOException(name.fileName() + ": RECORD uses " + hash.split("=")[0] + " for " + path
                        + "; only sha256 is accepted");
            }
            out.put(path, new String[] {hex, cells.size() > 2 ? cells.get(2) : ""});
        }
        return out;
    }

    private static String pad(String b64) {
        return b64 + "===".substring(0, (4 - b64.length() % 4) % 4);
    }

    private static List<String> csv(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    /** Opens a member for unpacking: the stream fails if it yields more than the declared size. */
    InputStream open(Member m) throws IOException {
        ZipEntry e = zip.getEntry(m.entry());
        InputStream in = zip.getInputStream(e);
        return new InputStream() {
            long left = m.size();

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                if (n > 0) {
                    left -= n;
                    if (left < 0) {
                        throw new IOException(name.fileName() + ": " + m.entry() + " is larger than its declared size");
                    }
                }
                return n;
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    /** The RECORD an installed copy carries: installed paths, hashes and sizes (CSV). */
    String installedRecord(List<Member> written, String recordPath) {
        StringBuilder b = new StringBuilder();
        for (Member m : written) {
            b.append(csvCell(m.dest())).append(",sha256=")
                    .append(Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.HexFormat.of().parseHex(m.sha256())))
                    .append(',').append(m.size()).append('\n');
        }
        b.append(csvCell(recordPath)).append(",,\n");
        return b.toString();
    }

    private static String csvCell(String s) {
        return s.indexOf(',') >= 0 || s.indexOf('"') >= 0 ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }
}
