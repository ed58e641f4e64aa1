package dev.cordon.nativetier;

/**
 * The native tier cannot run on this host: an isolation layer is missing or unusable. The message
 * names what is missing and how to install or enable it. Nothing was started.
 */
public final class NativeTierUnavailableException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public NativeTierUnavailableException(String message) {
        super(message);
    }
}
