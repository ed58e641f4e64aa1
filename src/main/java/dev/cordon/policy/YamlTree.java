package dev.cordon.policy;

import java.io.StringReader;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.CollectionStartEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.NodeEvent;
import org.yaml.snakeyaml.events.ScalarEvent;
import org.yaml.snakeyaml.parser.Parser;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.reader.StreamReader;

/**
 * Reads policy text into a small tree of mappings, lists and scalars that keeps the line and
 * column of every node, and refuses everything a policy has no use for.
 *
 * <p>Why SnakeYAML's event parser and not Jackson's token stream (Jackson drives this same parser):
 * Jackson resolves scalars by YAML 1.1 rules ({@code yes}/{@code on} become booleans, {@code 0443}
 * becomes octal 291), turns an empty value into {@code ""} and an alias into its anchor's name as a
 * plain string. Here the scalar style is visible, so resolution follows the YAML 1.2 core schema
 * and the loader can reject the ambiguous forms with a precise message.
 *
 * <p>Safety, all before any value is interpreted:
 * <ul>
 *   <li>Size: callers bound the text ({@link #MAX_CHARS}); SnakeYAML's code point limit repeats it.</li>
 *   <li>Anchors and aliases are rejected at the first one, so an alias bomb (billion laughs) costs
 *       one event: nothing is ever expanded.</li>
 *   <li>Nesting deeper than {@link #MAX_DEPTH} stops the read. The parser is a state machine with
 *       an explicit stack (no recursion), and the tree is built from its events iteratively.</li>
 *   <li>Tags ({@code !!str}, {@code !!binary}, {@code !custom}) are rejected; so is a second document.</li>
 * </ul>
 */
final class YamlTree {

    /** 1 MiB: the guide's complete example is ~1.3 KB; nothing legitimate comes near. */
    static final int MAX_CHARS = 1 << 20;
    /** The schema is at most 8 levels deep ({@code execution.sandbox.network.allowlist[i].ports[j]}). */
    static final int MAX_DEPTH = 32;

    private YamlTree() { }

    /** A node and where it starts (1-based line and column). */
    sealed interface Node permits MapNode, SeqNode, Scalar {
        int line();

        int column();

        /** How the node is named in a type error: "a mapping", "a list", "the string \"x\"". */
        String describe();
    }

    record Entry(String key, int line, int column, Node value) { }

    record MapNode(Map<String, Entry> entries, int line, int column) implements Node {
        @Override
        public String describe() {
            return "a mapping";
        }
    }

    record SeqNode(List<Node> items, int line, int column) implements Node {
        @Override
        public String describe() {
            return "a list";
        }
    }

    /** A scalar resolved by the YAML 1.2 core schema; quoted scalars are always strings. */
    record Scalar(Kind kind, String text, int line, int column) implements Node {
        @Override
        public String describe() {
            return switch (kind) {
                case NULL -> "an empty value";
                case BOOL -> "the boolean " + text;
                case INT -> "the number " + text;
                case FLOAT -> "the number " + text;
                case STRING -> "the string " + quote(text);
            };
        }
    }

    enum Kind { NULL, BOOL, INT, FLOAT, STRING }

    // YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), plain scalars only.
    private static final Pattern NULL = Pattern.compile("|~|null|Null|NULL");
    private static final Pattern BOOL = Pattern.compile("true|True|TRUE|false|False|FALSE");
    // Integers also match the YAML 1.1 forms (0x.., 0o.., 0b.., 1_000, leading zeros) so that the
    // loader can reject them as ambiguous instead of reading them as strings.
    private static final Pattern INT = Pattern.compile("[-+]?(0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)");
    private static final Pattern FLOAT = Pattern.compile(
            "[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");

    /**
     * Parses {@code text} into a tree. Returns null for an empty document (no content, only
     * comments, or a lone {@code ~}). The caller has already bounded the size.
     */
    static Node read(String text, String source) throws PolicyException {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(MAX_CHARS);
        options.setMaxAliasesForCollections(0);
        options.setNestingDepthLimit(MAX_DEPTH);
        options.setAllowDuplicateKeys(false);
        options.setProcessComments(false);
        StreamReader reader = new StreamReader(new StringReader(text));
        Parser parser = new ParserImpl(reader, options);
        try {
            return new Builder(parser, source).document();
        } catch (MarkedYAMLException e) {
            Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String problem = e.getProblem() != null ? e.getProblem() : "malformed YAML";
            if (e.getContext() != null) {
                problem = e.getContext() + ": " + problem;
            }
            throw new PolicyException(source, m == null ? 0 : m.getLine() + 1, m == null ? 0 : m.getColumn() + 1, "",
                    "invalid YAML: " + oneLine(problem));
        } catch (ReaderException e) {
            // Raised by the character reader, before any token: no mark, but the offset is known.
            int[] lc = lineColumn(text, e.getPosition());
            throw new PolicyException(source, lc[0], lc[1], "", "invalid YAML: character U+"
                    + String.format("%04X", e.getCodePoint()) + " is not allowed in YAML; remove it or escape it in"
                    + " a double-quoted string");
        } catch (YAMLException e) {
            // Some scanner errors carry no mark ("A simple key is required only if it is the first
            // token in the current line"): report where the reader stopped (found by property tests).
            Mark m = reader.getMark();
            throw new PolicyException(source, m.getLine() + 1, m.getColumn() + 1, "",
                    "invalid YAML: " + oneLine(String.valueOf(e.getMessage())));
        }
    }

    private static final class Builder {
        private final Parser parser;
        private final String source;

        Builder(Parser parser, String source) {
            this.parser = parser;
            this.source = source;
        }

        Node document() throws PolicyException {
            expect(Event.ID.StreamStart);
            if (parser.checkEvent(Event.ID.StreamEnd)) {
                return null;
            }
            expect(Event.ID.DocumentStart);
            Node root = node();
            expect(Event.ID.DocumentEnd);
            if (!parser.checkEvent(Event.ID.StreamEnd)) {
                Event e = parser.peekEvent();
                throw error(e.getStartMark(), "a policy file holds one YAML document; remove the second one (after ---)");
            }
            return root instanceof Scalar s && s.kind() == Kind.NULL ? null : root;
        }

        private void expect(Event.ID id) {
            Event e = parser.getEvent();
            if (!e.is(id)) {
                // Cannot happen with SnakeYAML's parser, which only emits well-formed event streams.
                throw new IllegalStateException("expected " + id + ", got " + e);
            }
        }

        /** An open mapping or list while its events arrive. */
        private static final class Frame {
            final Map<String, Entry> map;
            final List<Node> list;
            final int line;
            final int column;
            /** For a mapping: the key read but not yet given its value. */
            String key;
            int keyLine;
            int keyColumn;

            Frame(boolean mapping, Mark start) {
                this.map = mapping ? new LinkedHashMap<>() : null;
                this.list = mapping ? null : new ArrayList<>();
                this.line = start.getLine() + 1;
                this.column = start.getColumn() + 1;
            }

            void add(Node value) {
                if (map != null) {
                    map.put(key, new Entry(key, keyLine, keyColumn, value));
                    key = null;
                } else {
                    list.add(value);
                }
            }

            Node close() {
                return map != null
                        ? new MapNode(java.util.Collections.unmodifiableMap(map), line, column)
                        : new SeqNode(List.copyOf(list), line, column);
            }
        }

        /**
         * Reads one node iteratively: an explicit stack of open collections, so nesting costs heap
         * bounded by {@link #MAX_DEPTH}, never Java stack.
         */
        private Node node() throws PolicyException {
            ArrayDeque<Frame> stack = new ArrayDeque<>();
            while (true) {
                Event e = parser.getEvent();
                Frame top = stack.peek();
                if (top != null && top.map != null && top.key == null && !e.is(Event.ID.MappingEnd)) {
                    if (!(e instanceof ScalarEvent se)) {
                        throw error(e.getStartMark(), "a key must be a plain name, not " + kindOf(e));
                    }
                    checkNodeEvent(se);
                    Entry first = top.map.get(se.getValue());
                    if (first != null) {
                        throw error(se.getStartMark(), "duplicate key " + quote(se.getValue())
                                + " (first defined at line " + first.line() + "); keep only one");
                    }
                    top.key = se.getValue();
                    top.keyLine = se.getStartMark().getLine() + 1;
                    top.keyColumn = se.getStartMark().getColumn() + 1;
                    continue;
                }
                Node done;
                switch (e.getEventId()) {
                    case Scalar -> {
                        ScalarEvent se = (ScalarEvent) e;
                        checkNodeEvent(se);
                        done = scalar(se);
                    }
                    case MappingStart, SequenceStart -> {
                        checkNodeEvent((NodeEvent) e);
                        if (stack.size() >= MAX_DEPTH) {
                            throw error(e.getStartMark(), "nested deeper than " + MAX_DEPTH
                                    + " levels; a policy is at most 8 levels deep");
                        }
                        stack.push(new Frame(e.is(Event.ID.MappingStart), e.getStartMark()));
                        continue;
                    }
                    case MappingEnd, SequenceEnd -> done = stack.pop().close();
                    case Alias -> throw error(e.getStartMark(), "aliases (*" + ((AliasEvent) e).getAnchor()
                            + ") are not supported in policy files; write the value out");
                    default -> throw error(e.getStartMark(), "unexpected " + e.getEventId());
                }
                Frame parent = stack.peek();
                if (parent == null) {
                    return done;
                }
                parent.add(done);
            }
        }

        private void checkNodeEvent(NodeEvent e) throws PolicyException {
            if (e.getAnchor() != null) {
                throw error(e.getStartMark(), "anchors (&" + e.getAnchor()
                        + ") and aliases are not supported in policy files; write the value out");
            }
            String tag = e instanceof ScalarEvent s ? s.getTag() : ((CollectionStartEvent) e).getTag();
            if (tag != null && !"!".equals(tag)) {
                throw error(e.getStartMark(), "tags (" + tag + ") are not supported in policy files;"
                        + " quote a value to make it a string");
            }
        }

        private static Scalar scalar(ScalarEvent se) {
            String v = se.getValue();
            int line = se.getStartMark().getLine() + 1;
            int column = se.getStartMark().getColumn() + 1;
            Kind kind = Kind.STRING;
            // A non-specific tag "!" ('! foo') forces a string, like quoting.
            if (se.isPlain() && se.getTag() == null) {
                if (NULL.matcher(v).matches()) {
                    kind = Kind.NULL;
                } else if (BOOL.matcher(v).matches()) {
                    kind = Kind.BOOL;
                } else if (INT.matcher(v).matches()) {
                    kind = Kind.INT;
                } else if (FLOAT.matcher(v).matches()) {
                    kind = Kind.FLOAT;
                }
            }
            return new Scalar(kind, v, line, column);
        }

        private PolicyException error(Mark m, String problem) {
            return new PolicyException(source, m.getLine() + 1, m.getColumn() + 1, "", problem);
        }

        private static String kindOf(Event e) {
            return switch (e.getEventId()) {
                case MappingStart -> "a mapping";
                case SequenceStart -> "a list";
                case Alias -> "an alias";
                default -> e.getEventId().toString();
            };
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (++n > 80) {
                b.append("...");
                break;
            }
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** 1-based line and column of the code point at {@code codePointIndex}. */
    private static int[] lineColumn(String text, int codePointIndex) {
        int line = 1;
        int column = 1;
        int cp = 0;
        for (int i = 0; i < text.length() && cp < codePointIndex; cp++) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (c == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new int[] {line, column};
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*\\n\\s*", " ").strip();
    }
}
