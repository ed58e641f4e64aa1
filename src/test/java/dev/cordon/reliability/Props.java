package dev.cordon.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A small property-test harness: generate inputs from a seeded {@link Random}, check a property on
 * each, and on the first failure report the seed, the try and the input, so the case can be
 * replayed and kept as a regression case. Deterministic by default (the same inputs on every CI
 * run); {@code -Dcordon.fuzz.seed=N} explores other inputs and {@code -Dcordon.fuzz.scale=K}
 * multiplies the number of tries (for a longer local fuzzing run).
 *
 * <p>In-house rather than jqwik: jqwik 1.10 prints a message addressed at AI agents into every test
 * run (and asks them not to use it); Jazzer's JUnit mode only replays a corpus unless run under its
 * agent. Neither shrinking nor coverage guidance is needed for these generators, which are built
 * from the inputs' grammar.
 */
final class Props {

    private Props() { }

    static final long SEED = Long.getLong("cordon.fuzz.seed", 20261204L);
    static final int SCALE = Integer.getInteger("cordon.fuzz.scale", 1);

    /** Checks {@code property} on {@code tries} inputs made by {@code gen}. */
    static <T> void forAll(String name, int tries, Function<Random, T> gen, Consumer<T> property) {
        Random seeds = new Random(SEED ^ name.hashCode());
        for (int i = 0; i < tries * SCALE; i++) {
            long seed = seeds.nextLong();
            T input = gen.apply(new Random(seed));
            try {
                property.accept(input);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(name + " failed on try " + i + " (input seed " + seed + "): "
                        + e.getMessage() + "\ninput: " + show(input), e);
            }
        }
    }

    static String show(Object o) {
        if (o instanceof String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                if (c < 0x20 || c > 0x7e) {
                    b.append(String.format("\\u%04x", (int) c));
                } else {
                    b.append(c);
                }
            }
            return b.append('"').toString();
        }
        return String.valueOf(o);
    }

    static <T> T pick(Random r, List<T> items) {
        return items.get(r.nextInt(items.size()));
    }

    @SafeVarargs
    static <T> T pick(Random r, T... items) {
        return items[r.nextInt(items.length)];
    }

    /** A string of {@code 0..max} characters drawn from {@code alphabet}. */
    static String string(Random r, String alphabet, int max) {
        int n = r.nextInt(max + 1);
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    /** Any UTF-16 text: mostly printable, with control chars, line separators, surrogates and non-BMP. */
    static String anyText(Random r, int max) {
        int n = r.nextInt(max + 1);
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(8)) {
                case 0 -> b.append((char) r.nextInt(0x20));
                case 1 -> b.append(pick(r, '\u2028', '\u2029', '\u0085', '\u00a0', '\ufeff', '\u202e', '\r'));
                case 2 -> b.appendCodePoint(0x1F600 + r.nextInt(64));
                case 3 -> b.append((char) (0xD800 + r.nextInt(0x800))); // lone surrogates
                case 4 -> b.append((char) (0x80 + r.nextInt(0x3000)));
                default -> b.append((char) (0x20 + r.nextInt(0x5f)));
            }
        }
        return b.toString();
    }

    static <T> List<T> listOf(Random r, int min, int max, Function<Random, T> gen) {
        int n = min + r.nextInt(max - min + 1);
        List<T> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            l.add(gen.apply(r));
        }
        return l;
    }
}
