package dev.cordon.packages;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Debian 12 {@code python3-*} packages verified to work in the in-JVM tier (GraalPy 25.0.3, no
 * native access): {@code GraalPyPackagesTest} preinstalls each one present on the host in a real
 * session and runs the snippet below (an import plus a little real use). docs/packages.md lists the
 * same table. Packages that fail there are in {@link PackageCheck#GRAALPY_FAILS}.
 */
final class GraalPyPackages {

    private GraalPyPackages() { }

    /** Distribution name -> Python that must run without error (prints nothing). */
    static final Map<String, String> VERIFIED = new LinkedHashMap<>();

    static {
        VERIFIED.put("six", "import six; assert six.PY3");
        VERIFIED.put("pyyaml", "import yaml; assert yaml.safe_load('a: [1, 2]') == {'a': [1, 2]}; yaml.safe_dump({'b': 1})");
        VERIFIED.put("python-dateutil", "from dateutil import parser, relativedelta; "
                + "assert parser.parse('2024-02-29T10:00').day == 29; relativedelta.relativedelta(months=1)");
        VERIFIED.put("pytz", "import pytz; pytz.timezone('Europe/Paris')");
        VERIFIED.put("attrs", "import attr\n@attr.s\nclass P:\n    x = attr.ib()\nassert P(1).x == 1");
        VERIFIED.put("packaging", "from packaging.version import Version; assert Version('1.10') > Version('1.9')");
        VERIFIED.put("pyparsing", "import pyparsing as pp; assert pp.Word(pp.nums).parseString('42')[0] == '42'");
        VERIFIED.put("jinja2", "import jinja2; assert jinja2.Template('{{ x }}!').render(x=1) == '1!'");
        VERIFIED.put("markupsafe", "import markupsafe; assert str(markupsafe.escape('<')) == '&lt;'");
        VERIFIED.put("toml", "import toml; assert toml.loads('a = 1') == {'a': 1}");
        VERIFIED.put("appdirs", "import appdirs");
        VERIFIED.put("decorator", "import decorator");
        VERIFIED.put("more-itertools", "import more_itertools; assert list(more_itertools.chunked([1, 2, 3], 2)) == [[1, 2], [3]]");
        VERIFIED.put("babel", "import babel.dates, datetime; babel.dates.format_date(datetime.date(2024, 1, 2), locale='en')");
        VERIFIED.put("chardet", "import chardet; chardet.detect(b'hello world')");
        VERIFIED.put("distro", "import distro");
        VERIFIED.put("beautifulsoup4", "import bs4; assert bs4.BeautifulSoup('<p>hi</p>', 'html.parser').p.text == 'hi'");
        VERIFIED.put("soupsieve", "import soupsieve");
        VERIFIED.put("html5lib", "import html5lib; html5lib.parse('<p>x')");
        VERIFIED.put("webencodings", "import webencodings");
        VERIFIED.put("jdcal", "import jdcal");
        VERIFIED.put("olefile", "import olefile");
        VERIFIED.put("cycler", "import cycler; cycler.cycler(color=['r'])");
        VERIFIED.put("et-xmlfile", "import et_xmlfile");
        VERIFIED.put("iniconfig", "import iniconfig");
        VERIFIED.put("ply", "import ply.lex");
        VERIFIED.put("mpmath", "import mpmath; assert str(mpmath.mpf(1) / 4) == '0.25'");
        VERIFIED.put("blinker", "import blinker; blinker.signal('x')");
        VERIFIED.put("pygments", "import pygments.lexers; pygments.lexers.get_lexer_by_name('python')");
        VERIFIED.put("httplib2", "import httplib2");
        VERIFIED.put("oauthlib", "import oauthlib.oauth2");
        VERIFIED.put("crcmod", "import crcmod.predefined");
        VERIFIED.put("gast", "import gast");
        VERIFIED.put("beniget", "import beniget");
        VERIFIED.put("wadllib", "import wadllib");
        VERIFIED.put("argcomplete", "import argcomplete");
        VERIFIED.put("pluggy", "import pluggy; pluggy.PluginManager('x')");
        VERIFIED.put("py", "import py");
    }
}
