package dev.cordon.policy;

/**
 * {@code execution.sandbox.resources}.
 *
 * @param maxMemoryMb     memory bound of one session (default 256)
 * @param maxCpuSeconds   CPU seconds of one call, all guest threads together (default 30)
 * @param maxOutputSizeMb stdout plus stderr of one call (default 1)
 * @param maxProcesses    concurrent child processes of a session (default 1)
 * @param maxWallSeconds  {@code max_wall_seconds} (extension key): wall clock of one call (default 60)
 */
public record ResourcesPolicy(int maxMemoryMb, int maxCpuSeconds, int maxOutputSizeMb, int maxProcesses, int maxWallSeconds) {

    public static final ResourcesPolicy DEFAULT = new ResourcesPolicy(256, 30, 1, 1, 60);

    public long maxOutputBytes() {
        return maxOutputSizeMb * 1024L * 1024L;
    }
}
