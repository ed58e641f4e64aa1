package dev.cordon.net;

/**
 * Python source to evaluate once in every Cordon context before guest code runs (the pool's
 * bootstrap): compatibility shims for what GraalPy's emulated POSIX backend lacks. None of them is
 * a security mechanism (guest code may undo them and only loses the convenience); the gates decide
 * on the host side.
 *
 * <p><b>idna.</b> Makes the {@code idna} codec work without native access.
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

            def __cordon_subprocess():
                # subprocess.Popen.communicate() with two pipes (capture_output=True) waits on them
                # with select(), which the emulated backend excludes ("select was excluded"). When
                # subprocess is first imported, give Popen the thread-based _communicate CPython uses
                # on Windows instead. Patched lazily so contexts that never start a process pay nothing.
                import sys
                def patch(mod):
                    import threading
                    Popen = mod.Popen
                    def _readerthread(self, fh, buffer):
                        buffer.append(fh.read())
                        fh.close()
                    def _communicate(self, input, endtime, orig_timeout):
                        if self.stdout and not hasattr(self, '_stdout_buff'):
                            self._stdout_buff = []
                            self.stdout_thread = threading.Thread(target=self._readerthread,
                                                                  args=(self.stdout, self._stdout_buff), daemon=True)
                            self.stdout_thread.start()
                        if self.stderr and not hasattr(self, '_stderr_buff'):
                            self._stderr_buff = []
                            self.stderr_thread = threading.Thread(target=self._readerthread,
                                                                  args=(self.stderr, self._stderr_buff), daemon=True)
                            self.stderr_thread.start()
                        if self.stdin:
                            self._stdin_write(input)
                        for name in ('stdout', 'stderr'):
                            if getattr(self, name) is not None:
                                t = getattr(self, name + '_thread')
                                t.join(self._remaining_time(endtime))
                                if t.is_alive():
                                    raise mod.TimeoutExpired(self.args, orig_timeout)
                        stdout = self._stdout_buff[0] if self.stdout and self._stdout_buff else None
                        stderr = self._stderr_buff[0] if self.stderr and self._stderr_buff else None
                        self.wait(timeout=self._remaining_time(endtime))
                        return (stdout, stderr)
                    Popen._readerthread = _readerthread
                    Popen._communicate = _communicate
                class Loader:
                    def __init__(self, inner):
                        self.inner = inner
                    def create_module(self, spec):
                        return self.inner.create_module(spec)
                    def exec_module(self, module):
                        self.inner.exec_module(module)
                        patch(module)
                class Finder:
                    @staticmethod
                    def find_spec(name, path=None, target=None):
                        if name != 'subprocess':
                            return None
                        sys.meta_path.remove(Finder)
                        import importlib.util
                        spec = importlib.util.find_spec(name)
                        if spec is not None and spec.loader is not None:
                            spec.loader = Loader(spec.loader)
                        return spec
                if 'subprocess' in sys.modules:
                    patch(sys.modules['subprocess'])
                else:
                    sys.meta_path.insert(0, Finder)
            __cordon_subprocess()
            del __cordon_subprocess

            def __cordon_getppid():
                # The emulated backend's getppid() fails with an internal error that no `except`
                # catches. Guest code has no parent it can see (as for a process whose parent lives
                # outside its pid namespace), so answer 0, as the kernel does in that case.
                import os
                def getppid():
                    return 0
                getppid.__doc__ = os.getppid.__doc__
                os.getppid = getppid
            __cordon_getppid()
            del __cordon_getppid
            """;
}
