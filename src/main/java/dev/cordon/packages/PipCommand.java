package dev.cordon.packages;

import dev.cordon.decision.Decision;
import dev.cordon.decision.ExecDecisions;
import dev.cordon.decision.InstallDecisions;
import dev.cordon.policy.PackagesPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Recognises pip as guest code starts it and parses its arguments. Pure.
 *
 * <p>A pip command is: {@code pip}, {@code pip3}, {@code pip3.N} (by name or as a file directly in
 * a trusted bin directory, as {@link ExecDecisions#commandName} knows commands); {@code python[3[.N]]
 * [interpreter flags] -m pip}; or {@code sh -c "..."} / {@code bash -c "..."} whose string is one of
 * those as a simple command (words and quotes only: any shell operator, expansion or glob makes it a
 * shell command line, which the process gate decides like any other). A workspace file named
 * {@code pip} is not pip.
 */
final class PipCommand {

    private PipCommand() { }

    private static final Pattern PIP = Pattern.compile("pip(3(\\.[0-9]{1,2})?)?");
    private static final Pattern PYTHON = Pattern.compile("python(3(\\.[0-9]{1,2})?)?");
    private static final Set<String> SHELLS = Set.of("sh", "bash", "dash");
    /** Python flags that take no value and may precede {@code -m}. */
    private static final Set<String> PY_FLAGS = Set.of("-I", "-E", "-s", "-S", "-B", "-u", "-q", "-O", "-OO", "-b",
            "-bb", "-v", "-d", "-R", "-P");
    private static final Set<String> PY_FLAGS_WITH_VALUE = Set.of("-W", "-X");

    /** The pip arguments (after the program and its interpreter flags), or null when argv is not pip. */
    static List<String> recognise(List<String> argv) {
        return recognise(argv, true);
    }

    private static List<String> recognise(List<String> argv, boolean allowShell) {
        if (argv == null || argv.isEmpty()) {
            return null;
        }
        String name = ExecDecisions.commandName(argv.getFirst());
        if (name == null) {
            return null;
        }
        if (PIP.matcher(name).matches()) {
            return List.copyOf(argv.subList(1, argv.size()));
        }
        if (PYTHON.matcher(name).matches()) {
            int i = 1;
            while (i < argv.size()) {
                String a = argv.get(i);
                if (a.equals("-m") && i + 1 < argv.size() && argv.get(i + 1).equals("pip")) {
                    return List.copyOf(argv.subList(i + 2, argv.size()));
                }
                if (a.equals("-mpip")) {
                    return List.copyOf(argv.subList(i + 1, argv.size()));
                }
                if (PY_FLAGS.contains(a)) {
                    i++;
                } else if (PY_FLAGS_WITH_VALUE.contains(a)) {
                    i += 2;
                } else {
                    return null;
                }
            }
            return null;
        }
        if (allowShell && SHELLS.contains(name) && argv.size() >= 3 && argv.get(1).equals("-c")) {
            List<String> words = simpleWords(argv.get(2));
            return words == null ? null : recognise(words, false);
        }
        return null;
    }

    /**
     * Splits a shell command that is only words (plain, single- or double-quoted; backslash escapes
     * outside single quotes), or returns null if it uses anything a shell would interpret.
     */
    static List<String> simpleWords(String cmd) {
        List<String> out = new ArrayList<>();
        StringBuilder w = null;
        int i = 0;
        while (i < cmd.length()) {
            char c = cmd.charAt(i);
            if (c == ' ' || c == '\t') {
                if (w != null) {
                    out.add(w.toString());
                    w = null;
                }
                i++;
                continue;
            }
            if (w == null) {
                w = new StringBuilder();
                if (c == '#' || c == '~') {
                    return null; // a comment or a tilde expansion at the start of a word
                }
            }
            if (c == '\'') {
                int end = cmd.indexOf('\'', i + 1);
                if (end < 0) {
                    return null;
                }
                w.append(cmd, i + 1, end);
                i = end + 1;
            } else if (c == '"') {
                i++;
                while (i < cmd.length() && cmd.charAt(i) != '"') {
                    char d = cmd.charAt(i);
                    if (d == '$' || d == '`') {
                        return null;
                    }
                    if (d == '\\' && i + 1 < cmd.length() && "\"\\$`".indexOf(cmd.charAt(i + 1)) >= 0) {
                        i++;
                        d = cmd.charAt(i);
                    }
                    w.append(d);
                    i++;
                }
                if (i >= cmd.length()) {
                    return null;
                }
                i++;
            } else if (c == '\\') {
                if (i + 1 >= cmd.length() || cmd.charAt(i + 1) == '\n') {
                    return null;
                }
                w.append(cmd.charAt(i + 1));
                i += 2;
            } else if (";&|<>()$`*?[]{}!\n\r".indexOf(c) >= 0) {
                return null;
            } else {
                w.append(c);
                i++;
            }
        }
        if (w != null) {
            out.add(w.toString());
        }
        return out.isEmpty() ? null : out;
    }

    // ---------------------------------------------------------------- arguments

    /** What pip was asked to do. */
    enum Action { INSTALL, LIST, FREEZE, SHOW, VERSION, HELP, REFUSED }

    /**
     * A parsed pip command line. {@code refusals} holds every part Cordon will not serve; when it is
     * non-empty nothing is fetched.
     *
     * @param requirements requirement strings as given (command line)
     * @param requirementFiles {@code -r} files, as given (relative to the working directory)
     * @param hashes allowed sha256 digests per normalised name (from {@code --hash} in requirement files)
     */
    record Parsed(Action action, String subcommand, List<String> requirements, List<String> requirementFiles,
            boolean upgrade, boolean noDeps, int quiet, boolean pre, boolean forceReinstall, boolean dryRun,
            List<Decision.Deny> refusals, List<String> showNames, Map<String, Set<String>> hashes) {
    }

    /** Global options that take a value, and those that do not; both accepted and ignored. */
    private static final Set<String> IGNORED_FLAGS = Set.of("--disable-pip-version-check", "--no-cache-dir",
            "--no-color", "--no-input", "--isolated", "--user", "--no-warn-script-location", "--no-warn-conflicts",
            "--prefer-binary", "--ignore-installed", "-I", "--break-system-packages", "--no-build-isolation",
            "--compile", "--no-compile", "--require-virtualenv", "--no-python-version-warning", "--use-pep517",
            "--no-clean", "--exists-action");
    private static final Set<String> IGNORED_WITH_VALUE = Set.of("--progress-bar", "--root-user-action",
            "--upgrade-strategy", "--only-binary", "--timeout", "--retries", "--log", "--cache-dir", "--exists-action",
            "--use-feature", "--use-deprecated", "--implementation", "--platform", "--abi", "--python-version");
    private static final Set<String> SOURCE_WITH_VALUE = Set.of("-i", "--index-url", "--extra-index-url", "-f",
            "--find-links", "-e", "--editable", "--src");
    private static final Set<String> UNSUPPORTED_WITH_VALUE = Set.of("-t", "--target", "--prefix", "--root",
            "--no-binary", "-c", "--constraint", "-C", "--config-settings", "--global-option", "--install-option",
            "--proxy", "--cert", "--client-cert", "--trusted-host", "--report", "--python", "--keyring-provider",
            "--config-setting");
    private static final Set<String> UNSUPPORTED_FLAGS = Set.of("--no-index", "--require-hashes", "--editable");

    /**
     * Parses pip's arguments (as returned by {@link #recognise}).
     *
     * @param policy for the messages of refused sources
     */
    static Parsed parse(List<String> args, PackagesPolicy.Python policy) {
        List<Decision.Deny> refusals = new ArrayList<>();
        List<String> reqs = new ArrayList<>();
        List<String> files = new ArrayList<>();
        List<String> show = new ArrayList<>();
        boolean upgrade = false;
        boolean noDeps = false;
        boolean pre = false;
        boolean force = false;
        boolean dry = false;
        int quiet = 0;
        String sub = null;
        boolean version = false;
        boolean help = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String opt = a;
            String inlineValue = null;
            if (a.startsWith("--") && a.indexOf('=') > 0) {
                opt = a.substring(0, a.indexOf('='));
                inlineValue = a.substring(a.indexOf('=') + 1);
            } else if (a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-'
                    && "irfecCt".indexOf(a.charAt(1)) >= 0) {
                opt = a.substring(0, 2); // -rreqs.txt, -ihttp://...
                inlineValue = a.substring(2);
            }
            if (!opt.startsWith("-") || opt.equals("-")) {
                if (sub == null) {
                    sub = a.toLowerCase(Locale.ROOT);
                } else if (sub.equals("install")) {
                    reqs.add(a);
                } else {
                    show.add(a);
                }
                continue;
            }
            boolean takesValue = SOURCE_WITH_VALUE.contains(opt) || UNSUPPORTED_WITH_VALUE.contains(opt)
                    || IGNORED_WITH_VALUE.contains(opt) || opt.equals("-r") || opt.equals("--requirement");
            String value = inlineValue;
            if (takesValue && value == null) {
                if (i + 1 >= args.size()) {
                    refusals.add(InstallDecisions.unsupported(opt, opt + " needs a value"));
                    break;
                }
                value = args.get(++i);
            }
            switch (opt) {
                case "-q", "--quiet" -> quiet++;
                case "-qq" -> quiet += 2;
                case "-qqq" -> quiet += 3;
                case "-v", "--verbose", "-vv", "-vvv" -> quiet = Math.min(quiet, 0);
                case "-U", "--upgrade" -> upgrade = true;
                case "--no-deps" -> noDeps = true;
                case "--pre" -> pre = true;
                case "--force-reinstall" -> force = true;
                case "--dry-run" -> dry = true;
                case "-V", "--version" -> version = true;
                case "-h", "--help" -> help = true;
                case "-r", "--requirement" -> files.add(value);
                default -> {
                    if (IGNORED_FLAGS.contains(opt) || IGNORED_WITH_VALUE.contains(opt)) {
                        break;
                    }
                    if ((opt.equals("-i") || opt.equals("--index-url")) && sameIndex(value, policy)) {
                        break; // the policy's own index: changes nothing
                    }
                    if (SOURCE_WITH_VALUE.contains(opt)) {
                        refusals.add(InstallDecisions.otherSource(policy, opt + " " + value));
                    } else if (UNSUPPORTED_WITH_VALUE.contains(opt) || UNSUPPORTED_FLAGS.contains(opt)) {
                        refusals.add(InstallDecisions.unsupported(opt + (value == null ? "" : " " + value),
                                "Cordon's installer does not support " + opt + ": packages always go to the session's"
                                        + " site directory, as wheels, from index_url"));
                    } else {
                        refusals.add(InstallDecisions.unsupported(opt, "unknown pip option " + opt));
                    }
                }
            }
        }
        Action action;
        if (help) {
            action = Action.HELP;
        } else if (sub == null) {
            action = version ? Action.VERSION : Action.HELP;
        } else {
            action = switch (sub) {
                case "install" -> Action.INSTALL;
                case "list" -> Action.LIST;
                case "freeze" -> Action.FREEZE;
                case "show" -> Action.SHOW;
                case "help" -> Action.HELP;
                default -> Action.REFUSED;
            };
            if (action == Action.REFUSED) {
                refusals.add(0, InstallDecisions.unsupported("pip " + sub, "pip " + sub + " is not served: "
                        + switch (sub) {
                            case "download", "wheel" -> "packages are only installed, by Cordon, from index_url";
                            case "uninstall" -> "remove the package's files from the session's site directory instead";
                            default -> "only install, list, freeze, show and --version are";
                        }));
            }
        }
        if (action == Action.INSTALL) {
            for (String r : reqs) {
                Decision.Deny d = sourceOf(r, policy);
                if (d != null) {
                    refusals.add(d);
                }
            }
            if (reqs.isEmpty() && files.isEmpty() && refusals.isEmpty()) {
                refusals.add(InstallDecisions.unsupported("pip install", "You must give at least one requirement to install"));
            }
        }
        return new Parsed(action, sub, List.copyOf(reqs), List.copyOf(files), upgrade, noDeps, quiet, pre, force, dry,
                List.copyOf(refusals), List.copyOf(show), Map.of());
    }

    /** A requirement that names a source other than the index (URL, path, VCS, archive), or null. */
    static Decision.Deny sourceOf(String req, PackagesPolicy.Python policy) {
        String s = req.strip();
        String lower = s.toLowerCase(Locale.ROOT);
        boolean url = lower.contains("://") || lower.startsWith("git+") || lower.startsWith("hg+")
                || lower.startsWith("svn+") || lower.startsWith("bzr+") || lower.startsWith("file:");
        boolean path = s.startsWith(".") || s.startsWith("/") || s.startsWith("~") || s.contains("/")
                || lower.endsWith(".whl") || lower.endsWith(".tar.gz") || lower.endsWith(".zip")
                || lower.endsWith(".tar.bz2") || lower.endsWith(".tgz");
        boolean at = false;
        try {
            at = Pep508.parse(s).url() != null;
        } catch (IllegalArgumentException e) {
            // not a PEP 508 requirement: the resolver reports it
        }
        return url || path || at ? InstallDecisions.otherSource(policy, s) : null;
    }

    private static boolean sameIndex(String value, PackagesPolicy.Python policy) {
        if (value == null || policy.indexUrl() == null) {
            return false;
        }
        String a = value.strip();
        String b = policy.indexUrl().toString();
        return strip(a).equals(strip(b));
    }

    private static String strip(String u) {
        return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    }

    /**
     * One requirements file's lines, with nested {@code -r} files and option lines. Pure: the caller
     * reads the files.
     *
     * @return requirement strings; nested file names go to {@code nested}, refusals to {@code refusals},
     *         hashes to {@code hashes}
     */
    static List<String> parseRequirementsFile(String text, PackagesPolicy.Python policy, List<String> nested,
            List<Decision.Deny> refusals, Map<String, Set<String>> hashes) {
        List<String> out = new ArrayList<>();
        String joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
        for (String raw : joined.split("\r?\n")) {
            String line = raw;
            int hash = commentStart(line);
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("-")) {
                List<String> words = List.of(line.split("\\s+", 2));
                String opt = words.getFirst();
                String value = words.size() > 1 ? words.get(1).strip() : null;
                if (opt.indexOf('=') > 0) {
                    value = opt.substring(opt.indexOf('=') + 1);
                    opt = opt.substring(0, opt.indexOf('='));
                }
                switch (opt) {
                    case "-r", "--requirement" -> {
                        if (value != null) {
                            nested.add(value);
                        }
                    }
                    case "-i", "--index-url" -> {
                        if (!sameIndex(value, policy)) {
                            refusals.add(InstallDecisions.otherSource(policy, opt + " " + value));
                        }
                    }
                    case "--extra-index-url", "-f", "--find-links", "-e", "--editable", "--no-index" ->
                            refusals.add(InstallDecisions.otherSource(policy, line));
                    case "--pre", "--prefer-binary", "--only-binary" -> { }
                    default -> refusals.add(InstallDecisions.unsupported(opt,
                            "Cordon's installer does not support " + opt + " in a requirements file"));
                }
                continue;
            }
            // name>=1.0 --hash=sha256:abc --hash=sha256:def
            List<String> parts = new ArrayList<>(List.of(line.split("\\s+--hash[=\\s]")));
            String req = parts.removeFirst().strip();
            Decision.Deny src = sourceOf(req, policy);
            if (src != null) {
                refusals.add(src);
                continue;
            }
            if (!parts.isEmpty()) {
                Set<String> hs = new LinkedHashSet<>();
                for (String h : parts) {
                    String v = h.strip();
                    if (v.startsWith("sha256:")) {
                        hs.add(v.substring(7).toLowerCase(Locale.ROOT));
                    } else {
                        refusals.add(InstallDecisions.unsupported("--hash " + v, "only sha256 hashes are supported"));
                    }
                }
                try {
                    hashes.computeIfAbsent(Pep508.parse(req).normalized(), k -> new LinkedHashSet<>()).addAll(hs);
                } catch (IllegalArgumentException e) {
                    // reported when the requirement itself is parsed
                }
            }
            out.add(req);
        }
        return out;
    }

    /** A {@code #} that starts a comment: at the start or after whitespace (pip's rule). */
    private static int commentStart(String line) {
        for (int i = 0; i < line.length(); i++) {
            if (line.charAt(i) == '#' && (i == 0 || Character.isWhitespace(line.charAt(i - 1)))) {
                return i;
            }
        }
        return -1;
    }

    /** A parsed command with the hashes of its requirement files merged in. */
    static Parsed withFiles(Parsed p, List<String> moreReqs, List<Decision.Deny> moreRefusals,
            Map<String, Set<String>> hashes) {
        List<String> reqs = new ArrayList<>(p.requirements());
        reqs.addAll(moreReqs);
        List<Decision.Deny> ref = new ArrayList<>(p.refusals());
        ref.addAll(moreRefusals);
        Map<String, Set<String>> hs = new HashMap<>();
        hashes.forEach((k, v) -> hs.put(k, Set.copyOf(v)));
        return new Parsed(p.action(), p.subcommand(), List.copyOf(reqs), p.requirementFiles(), p.upgrade(), p.noDeps(),
                p.quiet(), p.pre(), p.forceReinstall(), p.dryRun(), List.copyOf(ref), p.showNames(), Map.copyOf(hs));
    }
}
