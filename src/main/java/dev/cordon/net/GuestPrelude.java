package dev.cordon.net;

/**
 * Python source to evaluate once in every Cordon context before guest code runs (the pool's
 * bootstrap): makes the {@code idna} codec work without native access.
 *
 * <p>Why: CPython's {@code ssl} encodes every {@code server_hostname} with the {@code idna} codec,
 * and {@code encodings.idna} imports {@code stringprep}, which needs the Unicode 3.2 tables of the
 * native {@code unicodedata} module. Cordon's contexts have no native access, so without this every
 * HTTPS request fails with {@code LookupError: unknown encoding idna} (and GraalPy first tries to
 * unpack and load the native library). The replacement encodes ASCII labels unchanged, as
 * {@code encodings.idna} does, and non-ASCII labels as {@code xn--} + punycode of their NFKC lower
 * case (an approximation of nameprep that agrees with it for ordinary names). Not a security
 * mechanism: guest code may replace it; the network gate normalises names on the host side anyway.
 */
public final class GuestPrelude {

    private GuestPrelude() { }

    public static final String SOURCE = """
            def __cordon_idna():
                import sys, codecs, types
                if 'encodings.idna' in sys.modules:
                    return
                def label_to_ascii(label):
                    try:
                        b = label.encode('ascii')
                    except UnicodeEncodeError:
                        import unicodedata
                        b = b'xn--' + unicodedata.normalize('NFKC', label.lower()).encode('punycode')
                    if not 0 < len(b) < 64:
                        raise UnicodeError('label empty or too long')
                    return b
                def encode(text, errors='strict'):
                    if isinstance(text, (bytes, bytearray)):
                        return bytes(text), len(text)
                    if not text:
                        return b'', 0
                    labels = text.replace('\\u3002', '.').replace('\\uff0e', '.').replace('\\uff61', '.').split('.')
                    tail = b''
                    if len(labels) > 1 and labels[-1] == '':
                        tail = b'.'
                        labels = labels[:-1]
                    return b'.'.join(label_to_ascii(l) for l in labels) + tail, len(text)
                def decode(data, errors='strict'):
                    s = bytes(data).decode('ascii')
                    out = [l[4:].encode('ascii').decode('punycode') if l[:4].lower() == 'xn--' else l for l in s.split('.')]
                    return '.'.join(out), len(data)
                m = types.ModuleType('encodings.idna')
                m.__doc__ = 'Cordon: idna codec without the native unicodedata tables (see dev.cordon.net.GuestPrelude)'
                m.getregentry = lambda: codecs.CodecInfo(name='idna', encode=encode, decode=decode)
                sys.modules['encodings.idna'] = m
            __cordon_idna()
            del __cordon_idna
            """;
}
