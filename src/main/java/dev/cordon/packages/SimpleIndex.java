package dev.cordon.packages;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.decision.InstallDecisions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client of one PEP 503 / PEP 691 simple repository: {@code index_url}. It fetches project pages
 * ({@code <index_url>/<normalised-name>/}, HTML or JSON), core metadata files (PEP 658/714) and
 * wheels, and nothing else:
 * <ul>
 *   <li>only URLs of the index's origin (scheme, host, port); a file link to another host is
 *       refused, and so is a redirect that leaves the origin (redirects are followed by hand);</li>
 *   <li>every hash the index gives ({@code #sha256=} fragments, {@code data-dist-info-metadata},
 *       JSON {@code hashes}) is checked;</li>
 *   <li>bounded sizes: 8 MiB per page, 4 MiB per metadata file, and a per-download limit for wheels;</li>
 *   <li>it runs on the installer's own thread, never on a guest thread: the guest's network gate does
 *       not apply to it, and the policy's {@code index_url} is the grant.</li>
 * </ul>
 */
final class SimpleIndex {

    static final long MAX_PAGE = 8L << 20;
    static final long MAX_METADATA = 4L << 20;
    private static final int MAX_REDIRECTS = 5;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2,"
            + " text/html;q=0.01";

    /** The index could not answer as needed: the message is for the guest's pip output. */
    static final class IndexException extends IOException {
        final boolean notFound;

        IndexException(String message, boolean notFound) {
            super(message);
            this.notFound = notFound;
        }
    }

    /** One distribution file on a project page. */
    record FileLink(String filename, URI url, String sha256, String requiresPython, boolean yanked,
            boolean hasMetadata, String metadataSha256) { }

    private final URI base;
    private final String authorization;
    private final HttpClient http;
    private final Duration timeout;
    /** Every URL fetched, in order (for {@code -v} output and the audit). */
    final List<String> fetched = new ArrayList<>();

    SimpleIndex(URI indexUrl, Duration timeout) {
        // Credentials in index_url (https://user:token@host/simple/) become a Basic header sent to
        // that origin only; the URLs themselves carry none.
        String ui = indexUrl.getRawUserInfo();
        this.authorization = ui == null ? null : "Basic " + java.util.Base64.getEncoder().encodeToString(
                java.net.URLDecoder.decode(ui, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8));
        String s = withoutUserInfo(indexUrl).toString();
        this.base = URI.create(s.endsWith("/") ? s : s + "/");
        this.timeout = timeout;
        this.http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    URI base() {
        return base;
    }

    /** The files of a project, or an {@link IndexException} with {@code notFound} for a 404. */
    List<FileLink> project(String normalizedName) throws IOException, InterruptedException {
        URI page = base.resolve(normalizedName + "/");
        Fetched f = get(page, MAX_PAGE, ACCEPT);
        if (f.status == 404) {
            throw new IndexException("No matching distribution found for " + normalizedName + " (" + base
                    + " has no project " + normalizedName + ")", true);
        }
        if (f.status != 200) {
            throw new IndexException("the index answered HTTP " + f.status + " for " + f.uri, false);
        }
        String ct = f.contentType.toLowerCase(Locale.ROOT);
        String body = new String(f.body, StandardCharsets.UTF_8);
        if (ct.startsWith("application/vnd.pypi.simple.v1+json")) {
            return parseJson(f.uri, body);
        }
        if (ct.startsWith("application/vnd.pypi.simple.v1+html") || ct.startsWith("text/html") || ct.isEmpty()) {
            return parseHtml(f.uri, body);
        }
        throw new IndexException("the index answered " + f.contentType + " for " + f.uri
                + ", not a PEP 503/691 project page", false);
    }

    /** The core metadata file of a distribution (PEP 658), hash-checked when the index gave one. */
    byte[] metadata(FileLink link) throws IOException, InterruptedException {
        URI u = URI.create(stripFragment(link.url()) + ".metadata");
        Fetched f = get(u, MAX_METADATA, "*/*");
        if (f.status != 200) {
            throw new IndexException("the index answered HTTP " + f.status + " for " + u, false);
        }
        if (link.metadataSha256() != null && !sha256(f.body).equals(link.metadataSha256())) {
            throw new IndexException("THESE PACKAGES DO NOT MATCH THE HASHES FROM THE INDEX: " + u
                    + " (metadata sha256 " + sha256(f.body) + ", expected " + link.metadataSha256() + ")", false);
        }
        return f.body;
    }

    /** Downloads a distribution file to {@code to}; returns its sha256 (already checked against the link's). */
    String download(FileLink link, Path to, long maxBytes) throws IOException, InterruptedException {
        URI u = URI.create(stripFragment(link.url()));
        MessageDigest md = sha();
        HttpResponse<InputStream> r = send(u, "*/*");
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(to)) {
            if (r.statusCode() != 200) {
                throw new IndexException("the index answered HTTP " + r.statusCode() + " for " + u, false);
            }
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > maxBytes) {
                    throw new IndexException(link.filename() + " is larger than the " + (maxBytes >> 10)
                            + " KB the workspace has room for", false);
                }
                md.update(buf, 0, n);
                out.write(buf, 0, n);
            }
        }
        String got = HexFormat.of().formatHex(md.digest());
        if (link.sha256() != null && !got.equals(link.sha256())) {
            throw new IndexException("THESE PACKAGES DO NOT MATCH THE HASHES FROM THE INDEX: " + link.filename()
                    + " (sha256 " + got + ", expected " + link.sha256() + ")", false);
        }
        return got;
    }

    private record Fetched(URI uri, int status, String contentType, byte[] body) { }

    private Fetched get(URI u, long max, String accept) throws IOException, InterruptedException {
        HttpResponse<InputStream> r = send(u, accept);
        try (InputStream in = r.body()) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
            if (body.length > max) {
                throw new IndexException(r.uri() + " is larger than " + (max >> 20) + " MiB", false);
            }
            return new Fetched(r.uri(), r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), body);
        }
    }

    /** GET with same-origin redirects only. */
    private HttpResponse<InputStream> send(URI u, String accept) throws IOException, InterruptedException {
        URI cur = u;
        for (int hop = 0; ; hop++) {
            if (!InstallDecisions.sameOrigin(base, cur)) {
                throw new IndexException("refusing " + cur + ": Cordon fetches only from " + origin(base)
                        + " (packages.python.index_url)", false);
            }
            synchronized (fetched) {
                fetched.add(cur.toString());
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(withoutUserInfo(cur)).timeout(timeout).header("Accept", accept)
                    .header("User-Agent", "cordon-installer").GET();
            if (authorization != null) {
                rb.header("Authorization", authorization);
            }
            HttpRequest req = rb.build();
            HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            int s = r.statusCode();
            if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
                r.body().close();
                String loc = r.headers().firstValue("Location").orElse(null);
                if (loc == null || hop >= MAX_REDIRECTS) {
                    throw new IndexException("too many or empty redirects from " + u, false);
                }
                cur = cur.resolve(loc);
                continue;
            }
            return r;
        }
    }

    private static URI withoutUserInfo(URI u) {
        if (u.getRawUserInfo() == null) {
            return u;
        }
        try {
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), u.getQuery(), u.getFragment());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("bad URL " + InstallDecisions.redact(u), e);
        }
    }

    static String origin(URI u) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "");
    }

    // ---------------------------------------------------------------- parsing

    private static final Pattern ANCHOR = Pattern.compile("<a\\s([^>]*)>(.*?)</a\\s*>",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern ATTR = Pattern.compile(
            "([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\\s*=\\s*(?:\"([^\"]*)\"|'([^']*)'|([^\\s\"'>]+)))?");
    private static final Pattern BASE = Pattern.compile("<base\\s[^>]*href\\s*=\\s*[\"']([^\"']*)[\"']",
            Pattern.CASE_INSENSITIVE);

    /** PEP 503 HTML: one anchor per file; attributes data-requires-python, data-yanked, data-(dist-info|core)-metadata. */
    static List<FileLink> parseHtml(URI page, String html) throws IndexException {
        URI base = page;
        Matcher b = BASE.matcher(html);
        if (b.find()) {
            base = resolve(page, unescape(b.group(1)));
        }
        List<FileLink> out = new ArrayList<>();
        Matcher m = ANCHOR.matcher(html);
        while (m.find()) {
            Map<String, String> attrs = new HashMap<>();
            Matcher a = ATTR.matcher(m.group(1));
            while (a.find()) {
                String v = a.group(2) != null ? a.group(2) : a.group(3) != null ? a.group(3) : a.group(4);
                attrs.put(a.group(1).toLowerCase(Locale.ROOT), v == null ? "" : unescape(v));
            }
            String href = attrs.get("href");
            if (href == null) {
                continue;
            }
            URI u = resolve(base, href);
            String fn = fileName(u);
            String sha = fragmentSha256(u);
            String meta = attrs.containsKey("data-core-metadata") ? attrs.get("data-core-metadata")
                    : attrs.get("data-dist-info-metadata");
            boolean hasMeta = meta != null && !meta.equalsIgnoreCase("false");
            String metaSha = null;
            if (hasMeta && meta.toLowerCase(Locale.ROOT).startsWith("sha256=")) {
                metaSha = meta.substring(7).toLowerCase(Locale.ROOT);
            }
            out.add(new FileLink(fn, u, sha, attrs.get("data-requires-python"), attrs.containsKey("data-yanked"),
                    hasMeta, metaSha));
        }
        return out;
    }

    /** PEP 691 JSON. */
    static List<FileLink> parseJson(URI page, String json) throws IOException {
        JsonNode root = JSON.readTree(json);
        String api = root.path("meta").path("api-version").asText("1.0");
        if (!api.startsWith("1.")) {
            throw new IndexException("unsupported simple API version " + api + " at " + page, false);
        }
        List<FileLink> out = new ArrayList<>();
        for (JsonNode f : root.path("files")) {
            String url = f.path("url").asText(null);
            String fn = f.path("filename").asText(null);
            if (url == null || fn == null) {
                continue;
            }
            URI u = resolve(page, url);
            String sha = f.path("hashes").path("sha256").asText(null);
            if (sha == null) {
                sha = fragmentSha256(u);
            }
            JsonNode meta = f.has("core-metadata") ? f.get("core-metadata") : f.path("dist-info-metadata");
            boolean hasMeta = meta.isObject() || meta.asBoolean(false);
            String metaSha = meta.isObject() ? meta.path("sha256").asText(null) : null;
            JsonNode y = f.path("yanked");
            boolean yanked = y.isTextual() || y.asBoolean(false);
            String rp = f.path("requires-python").isNull() ? null : f.path("requires-python").asText(null);
            out.add(new FileLink(fn, u, sha == null ? null : sha.toLowerCase(Locale.ROOT), rp, yanked, hasMeta,
                    metaSha == null ? null : metaSha.toLowerCase(Locale.ROOT)));
        }
        return out;
    }

    private static URI resolve(URI base, String href) throws IndexException {
        try {
            return base.resolve(new URI(href.replace(" ", "%20")));
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new IndexException("bad link on the index page " + base + ": " + href, false);
        }
    }

    private static String fileName(URI u) {
        String p = u.getPath() == null ? "" : u.getPath();
        return p.substring(p.lastIndexOf('/') + 1);
    }

    private static String fragmentSha256(URI u) {
        String f = u.getFragment();
        if (f != null && f.toLowerCase(Locale.ROOT).startsWith("sha256=")) {
            return f.substring(7).toLowerCase(Locale.ROOT);
        }
        return null;
    }

    private static String stripFragment(URI u) {
        String s = u.toString();
        int i = s.indexOf('#');
        return i < 0 ? s : s.substring(0, i);
    }

    private static final Pattern ENTITY = Pattern.compile("&(#x?[0-9A-Fa-f]+|[A-Za-z]+);");

    static String unescape(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = ENTITY.matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String e = m.group(1);
            String r = switch (e) {
                case "lt" -> "<";
                case "gt" -> ">";
                case "amp" -> "&";
                case "quot" -> "\"";
                case "apos" -> "'";
                default -> {
                    if (e.startsWith("#x") || e.startsWith("#X")) {
                        yield new String(Character.toChars(Integer.parseInt(e.substring(2), 16)));
                    } else if (e.startsWith("#")) {
                        yield new String(Character.toChars(Integer.parseInt(e.substring(1))));
                    }
                    yield m.group();
                }
            };
            m.appendReplacement(b, Matcher.quoteReplacement(r));
        }
        m.appendTail(b);
        return b.toString();
    }

    static String sha256(byte[] b) {
        return HexFormat.of().formatHex(sha().digest(b));
    }

    static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
