package dev.cordon.policy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads {@code openclaw.exec.yaml} files into immutable {@link Policy} records.
 *
 * <p>Strict: an unknown key, a duplicate key, a wrong type, a value out of range or an unknown enum
 * value is an error naming {@code file:line:column} and the YAML path, with what would be valid.
 * All such errors of a file are reported together ({@link PolicyException#errors()}); a YAML
 * syntax error, an alias, a tag or a file over {@value #MAX_BYTES} bytes stops at once.
 *
 * <p>Safe: the size is checked before anything is parsed (and a file is never read beyond it),
 * anchors and aliases are refused at the first one (no alias bomb can expand), nesting is bounded,
 * and nothing touches the network: CIDRs and domains are checked as text, never resolved.
 *
 * <p>Pure: the result depends on the text only (no environment, no filesystem checks), so a
 * policy means the same on every machine. Missing sections take the conservative defaults of the
 * records ({@link Policy#DEFAULT}); an empty file is {@link Policy#DEFAULT}. The keys, defaults
 * and rules are listed in {@code docs/policy-reference.md}.
 */
public final class PolicyLoader {

    private PolicyLoader() { }

    /** 1 MiB. The guide's complete example is about 1.3 KB. */
    public static final int MAX_BYTES = YamlTree.MAX_CHARS;

    /** Reads and parses {@code file}; the policy's {@link Policy#source()} is {@code file}. */
    public static Policy load(Path file) throws PolicyException {
        String name = file.toString();
        byte[] bytes;
        try {
            // Size first: a huge file is refused before a byte of it is parsed. Read at most one
            // byte past the bound too, since size() says 0 for /dev/zero and pipes.
            if (Files.isRegularFile(file) && Files.size(file) > MAX_BYTES) {
                throw tooLarge(name, Files.size(file));
            }
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(MAX_BYTES + 1);
            }
        } catch (IOException e) {
            throw new PolicyException(name, 0, 0, "", "cannot read the policy file: " + e);
        }
        if (bytes.length > MAX_BYTES) {
            throw tooLarge(name, -1);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new PolicyException(name, 0, 0, "", "the policy file is not valid UTF-8");
        }
        return parse(text, name).withSource(file);
    }

    /**
     * Parses policy text. {@code sourceName} labels error messages (a file name, {@code preset:NAME},
     * {@code <stdin>}); the result has no {@link Policy#source()}.
     */
    public static Policy parse(String yaml, String sourceName) throws PolicyException {
        if (yaml.length() > MAX_BYTES) {
            throw tooLarge(sourceName, -1);
        }
        if (!yaml.isEmpty() && yaml.charAt(0) == '\uFEFF') {
            yaml = yaml.substring(1); // a UTF-8 byte order mark, as some editors write
        }
        return new PolicyParser(sourceName).parse(yaml);
    }

    private static PolicyException tooLarge(String name, long size) {
        return new PolicyException(name, 0, 0, "", "the policy is larger than " + MAX_BYTES + " bytes"
                + (size > 0 ? " (" + size + " bytes)" : "") + "; refused without parsing (a policy is a few KB)");
    }
}
