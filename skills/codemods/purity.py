"""What the codemods know about purity and mutation: one home, so no two codemods disagree.

Which builtins and library functions depend only on their arguments, which methods change the
object they are called on or act on the world, which calls make a fresh mutable object or only
read their argument, and which module-level values are constants. A codemod that needs one of
these facts imports it from here; a fact is widened or narrowed here, for every codemod at once.
"""

from __future__ import annotations

# --- builtins and library functions ---------------------------------------------------------------

# Pure builtins that cannot raise where a loop that never ran would not have: a call to one can
# be computed once before the loop (hoist-loop-invariant).
HOISTABLE_BUILTINS = frozenset(
    {
        "len",
        "abs",
        "sum",
        "sorted",
        "tuple",
        "frozenset",
        "any",
        "all",
        "round",
        "repr",
        "bool",
        "set",
        "list",
        "dict",
    }
)
# Pure, but raise on an empty argument: hoisted only behind a test of the argument.
RAISE_ON_EMPTY = frozenset({"max", "min"})
STATISTICS_RAISE_ON_EMPTY = frozenset(
    {
        "mean",
        "fmean",
        "median",
        "median_low",
        "median_high",
        "median_grouped",
        "mode",
        "stdev",
        "pstdev",
        "variance",
        "pvariance",
        "geometric_mean",
        "harmonic_mean",
    }
)
# Builtins whose result depends only on their arguments (memoize).
PURE_BUILTINS = (
    HOISTABLE_BUILTINS
    | RAISE_ON_EMPTY
    | frozenset(
        {
            "ascii",
            "bin",
            "bytes",
            "callable",
            "chr",
            "complex",
            "divmod",
            "enumerate",
            "filter",
            "float",
            "format",
            "getattr",
            "hasattr",
            "hash",
            "hex",
            "int",
            "isinstance",
            "issubclass",
            "iter",
            "map",
            "oct",
            "ord",
            "pow",
            "range",
            "reversed",
            "slice",
            "str",
            "type",
            "zip",
        }
    )
)
# Builtins with an effect, or whose result is not a function of their arguments.
IMPURE_BUILTINS = {
    "print",
    "open",
    "input",
    "exec",
    "eval",
    "setattr",
    "delattr",
    "globals",
    "vars",
    "breakpoint",
    "next",
    "id",
}
# Functions of other modules known to depend only on their arguments.
PURE_MODULE_FUNCTIONS = (
    "math.",
    "cmath.",
    "operator.",
    "statistics.",
    "itertools.",
    "bisect.",
    "re.",
    "struct.",
    "json.dumps",
    "json.loads",
    "unicodedata.",
    "string.",
    "textwrap.",
    "fractions.",
    "decimal.",
    "hashlib.",
    "binascii.",
    "base64.",
    "zlib.crc32",
    "zlib.adler32",
    "colorsys.",
    "heapq.",
    "copy.",
    "functools.reduce",
    "functools.partial",
    "collections.Counter",
    "collections.defaultdict",
    "collections.OrderedDict",
    "collections.deque",
    "collections.namedtuple",
    "datetime.timedelta",
    "datetime.date.fromisoformat",
    "datetime.datetime.fromisoformat",
    "datetime.datetime.strptime",
    "ipaddress.",
    "urllib.parse.",
    "posixpath.",
    "ntpath.",
    "os.path.join",
    "os.path.splitext",
    "os.path.basename",
    "os.path.dirname",
    "os.path.normpath",
    "os.path.split",
    "fnmatch.",
    "shlex.quote",
    "shlex.split",
    "html.escape",
    "html.unescape",
    "keyword.iskeyword",
    "dataclasses.replace",
    "typing.cast",
)
IMPURE_MODULES = (
    "random.",
    "time.",
    "uuid.",
    "os.",
    "sys.",
    "subprocess.",
    "socket.",
    "secrets.",
    "logging.",
    "requests.",
    "urllib.",
    "shutil.",
    "pathlib.",
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "tempfile.",
    "threading.",
    "asyncio.",
    "sqlite3.",
    "warnings.",
    "builtins.print",
    "builtins.open",
    "builtins.input",
)
# Module state a function may read: a cached result would not see it change.
PROCESS_STATE = ("sys.", "os.environ", "time.", "random.", "locale.", "threading.")
# Process-level facts a cache may read, by the assumption it then makes. Platform and interpreter
# are fixed for the life of a process; the environment is too unless the program writes it (the
# memoize codemod checks the repository for writes to os.environ before it relies on that).
PROCESS_ASSUMPTIONS = {
    "platform": (
        "sys.platform",
        "sys.byteorder",
        "os.name",
        "os.sep",
        "os.pathsep",
        "os.linesep",
        "platform.system",
        "platform.machine",
        "platform.architecture",
        "platform.platform",
        "platform.release",
    ),
    "interpreter": (
        "sys.version_info",
        "sys.version",
        "sys.hexversion",
        "sys.implementation",
        "sys.maxsize",
        "sys.float_info",
        "platform.python_implementation",
        "platform.python_version",
    ),
    "environment": ("os.environ", "os.environb", "os.getenv"),
}


def process_assumption(qualified: str) -> str | None:
    """The assumption (platform, interpreter, environment) reading `qualified` makes, or None."""
    for kind, facts in PROCESS_ASSUMPTIONS.items():
        for fact in facts:
            if qualified == fact or qualified.startswith(fact + "."):
                return kind
    return None


# --- methods -----------------------------------------------------------------------------------

# Methods that change the object they are called on (lists, dicts, sets, files, generators).
# One conservative set for every codemod: a name any of these is called on is not treated as
# constant, loop-invariant or pure.
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "clear",
        "sort",
        "reverse",
        "update",
        "add",
        "discard",
        "setdefault",
        "popitem",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "__setitem__",
        "__delitem__",
        "__iadd__",
        "write",
        "send",
    }
)
# Methods that act on the world (logging, I/O, databases, locks): a call is an effect a cache
# would skip.
EFFECT_METHODS = {
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "log",
    "write",
    "writelines",
    "send",
    "sendall",
    "recv",
    "read",
    "readline",
    "readlines",
    "flush",
    "close",
    "commit",
    "execute",
    "save",
    "delete",
    "emit",
    "put",
    "post",
    "acquire",
    "release",
    "seek",
    "truncate",
}
MAPPING_METHODS = {"items", "keys", "values", "get"}
# Methods of str that make a new value from the receiver alone: loop-invariant when the receiver
# is (hoist-loop-invariant).
STR_METHODS = frozenset(
    {
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "casefold",
        "title",
        "split",
        "rsplit",
        "splitlines",
        "encode",
        "partition",
        "rpartition",
        "replace",
        "join",
        "capitalize",
        "swapcase",
        "expandtabs",
        "zfill",
    }
)
# Methods of str/bytes/int/float/tuple: reading an argument through them cannot see later
# changes.
IMMUTABLE_VALUE_METHODS = STR_METHODS | frozenset(
    {
        "as_integer_ratio",
        "bit_length",
        "center",
        "conjugate",
        "count",
        "decode",
        "endswith",
        "find",
        "format",
        "hex",
        "index",
        "is_integer",
        "isalnum",
        "isalpha",
        "isdecimal",
        "isdigit",
        "isidentifier",
        "islower",
        "isnumeric",
        "isspace",
        "isupper",
        "ljust",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rindex",
        "rjust",
        "startswith",
        "translate",
    }
)

# --- what a call returns, what it does with its argument ---------------------------------------

# Calls that return a new mutable object: shared or cached, one caller's change would be seen by
# the next.
MUTABLE_FACTORIES = frozenset(
    {
        "list",
        "dict",
        "set",
        "bytearray",
        "defaultdict",
        "Counter",
        "OrderedDict",
        "deque",
        "sorted",
        "split",
        "rsplit",
        "splitlines",
        "copy",
        "findall",
    }
)
# Calls that return an immutable value: a module global bound to one is a constant.
IMMUTABLE_FACTORIES = {
    "tuple",
    "frozenset",
    "str",
    "int",
    "float",
    "bytes",
    "bool",
    "complex",
    "compile",
    "namedtuple",
    "MappingProxyType",
    "Decimal",
    "Fraction",
    "getLogger",
    "TypeVar",
    "NewType",
    "Struct",
    "object",
}
# Calls that only read their argument: they neither change it nor keep it past the call (the
# iterators they return are only read).
READ_ONLY_CALLEES = frozenset(
    {
        "Counter",
        "all",
        "any",
        "bisect",
        "bisect_left",
        "bisect_right",
        "dict",
        "enumerate",
        "filter",
        "frozenset",
        "isinstance",
        "iter",
        "join",
        "len",
        "list",
        "map",
        "max",
        "mean",
        "median",
        "min",
        "print",
        "repr",
        "reversed",
        "set",
        "sorted",
        "str",
        "sum",
        "tuple",
        "zip",
    }
)
