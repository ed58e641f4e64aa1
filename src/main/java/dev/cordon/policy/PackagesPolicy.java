package dev.cordon.policy;

import java.net.URI;
import java.util.List;
import java.util.Objects;

/** {@code execution.sandbox.packages}. Only {@code python} is defined. */
public record PackagesPolicy(Python python) {

    public PackagesPolicy {
        Objects.requireNonNull(python, "python");
    }

    public static final PackagesPolicy NONE = new PackagesPolicy(Python.NONE);

    /**
     * {@code packages.python}.
     *
     * @param preinstalled     importable without an install step, checked at load time
     * @param allowInstall     whether guest code may install approved packages on demand
     * @param approvedPackages PEP 503-normalised names that may be installed
     * @param indexUrl         the only index installs may come from; null when unset
     */
    public record Python(List<String> preinstalled, boolean allowInstall, List<String> approvedPackages, URI indexUrl) {
        public Python {
            preinstalled = List.copyOf(preinstalled);
            approvedPackages = List.copyOf(approvedPackages);
        }

        public static final Python NONE = new Python(List.of(), false, List.of(), null);
    }
}
