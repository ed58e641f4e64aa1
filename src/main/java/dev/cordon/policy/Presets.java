package dev.cordon.policy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The starter-pack policies in {@code polyglot-policies/}, shipped in the jar as
 * {@code /polyglot-policies/NAME.yaml}. Each file starts with a comment saying what it allows and
 * why; {@code cordon init --preset NAME} writes {@link #text(String)} as it is, so the header
 * reaches the user.
 *
 * <p>Order ({@link PolicyOrder#allowsSubsetOf}): {@code default} allows a subset of every other
 * preset. The other four are not comparable with each other, on purpose: each opens something the
 * others do not (data-analysis: two APIs and pandas; web-research: any host; code-generation:
 * installs and python3; document-processing: pypdf and python-docx), and forcing a chain would
 * mean shaping a preset around the order instead of around its agent. A test checks every
 * ordered pair against {@link #ORDER}.
 */
public final class Presets {

    private Presets() { }

    /** The preset names, most conservative first. */
    private static final List<String> NAMES =
            List.of("default", "document-processing", "data-analysis", "code-generation", "web-research");

    /** For each preset, the presets it allows a subset of (besides itself). */
    static final Map<String, Set<String>> ORDER = Map.of(
            "default", Set.of("document-processing", "data-analysis", "code-generation", "web-research"),
            "document-processing", Set.of(),
            "data-analysis", Set.of(),
            "code-generation", Set.of(),
            "web-research", Set.of());

    private static final Map<String, Policy> CACHE = new ConcurrentHashMap<>();

    /** The preset names, most conservative first. */
    public static List<String> names() {
        return NAMES;
    }

    /** The preset's YAML text, header comment included. */
    public static String text(String name) throws PolicyException {
        if (!NAMES.contains(name)) {
            throw unknown(name);
        }
        String resource = "/polyglot-policies/" + name + ".yaml";
        try (InputStream in = Presets.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new PolicyException("preset:" + name, 0, 0, "", "the preset " + resource
                        + " is missing from the class path (a broken build: the jar should contain polyglot-policies/)");
            }
            return new String(in.readNBytes(PolicyLoader.MAX_BYTES), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PolicyException("preset:" + name, 0, 0, "", "cannot read " + resource + ": " + e);
        }
    }

    /** The preset as a policy (parsed once, then cached: policies are immutable). */
    public static Policy load(String name) throws PolicyException {
        Policy p = CACHE.get(name);
        if (p == null) {
            p = PolicyLoader.parse(text(name), "preset:" + name);
            CACHE.put(name, p);
        }
        return p;
    }

    private static PolicyException unknown(String name) {
        return new PolicyException("preset " + YamlTree.quote(name), 0, 0, "", "no such preset; the presets are: "
                + String.join(", ", NAMES));
    }
}
