package dev.cordon.graalpy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What must be fixed when a context is built, before it is bound to a session: everything else
 * (workspace, gates, limits) is bound later. Contexts of one shape are interchangeable in a pool.
 *
 * @param pythonPath     extra read-only site directories for pure-Python packages
 * @param socketAccess   whether the context may reach host sockets (only ever true when the network
 *                       gate is installed and decides every connection)
 * @param environment    the guest's whole environment (nothing is inherited from the host)
 */
public record ContextShape(List<Path> pythonPath, boolean socketAccess, Map<String, String> environment) {
    public ContextShape {
        pythonPath = List.copyOf(pythonPath);
        environment = Map.copyOf(environment);
    }
}
