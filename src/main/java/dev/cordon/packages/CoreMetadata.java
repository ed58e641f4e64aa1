package dev.cordon.packages;

import dev.cordon.decision.InstallDecisions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The fields of a distribution's core metadata ({@code METADATA} / {@code PKG-INFO}) an installer
 * needs: name, version, {@code Requires-Dist}, {@code Requires-Python}
 * (https://packaging.python.org/en/latest/specifications/core-metadata/). Email-header format; the
 * headers end at the first empty line.
 */
record CoreMetadata(String name, String version, List<String> requiresDist, String requiresPython) {

    String normalizedName() {
        return InstallDecisions.normalize(name);
    }

    static CoreMetadata parse(byte[] bytes) {
        return parse(new String(bytes, StandardCharsets.UTF_8));
    }

    static CoreMetadata parse(String text) {
        String name = null;
        String version = null;
        String requiresPython = null;
        List<String> requires = new ArrayList<>();
        String key = null;
        StringBuilder value = new StringBuilder();
        for (String line : (text.replace("\r\n", "\n") + "\n\n").split("\n", -1)) {
            boolean continuation = !line.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t');
            if (continuation && key != null) {
                value.append(' ').append(line.strip());
                continue;
            }
            if (key != null) {
                String v = value.toString().strip();
                switch (key) {
                    case "name" -> name = v;
                    case "version" -> version = v;
                    case "requires-dist" -> requires.add(v);
                    case "requires-python" -> requiresPython = v;
                    default -> { }
                }
                key = null;
            }
            if (line.isEmpty()) {
                break; // end of headers: the rest is the description
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            key = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            value.setLength(0);
            value.append(line.substring(colon + 1));
        }
        if (name == null || version == null) {
            throw new IllegalArgumentException("core metadata without Name or Version");
        }
        return new CoreMetadata(name, version, List.copyOf(requires), requiresPython);
    }
}
