"""Settings dataclasses as command-line flags: a new setting is one line, with its help.

A settings dataclass (`TrainConfig`, `EvalSettings`) declares each field with
`setting(default, help)`; a program's main file calls `define_flags(cls)` once, which
defines one absl flag per field (named after it, with its default and help), and
`flag_values(cls)` returns the fields given on the command line. Network settings of
the presets (`presets.NETWORK_SETTING_HELP`) become `--g_<key>` and `--d_<key>` flags
with `define_network_flags()` / `network_flag_values()`.

Flag kinds follow the default (str, int, float, bool) or `kind=`: "str", "int",
"float", "bool", "ints" (a comma-separated list of ints), "bools" (of true/false).
"""

import dataclasses
import sys

from absl import app, flags

from sagan_tf import presets

_NETWORK_PREFIXES = {"generator": "g_", "discriminator": "d_"}


def setting(default, help, *, kind=None, choices=None, flag=True, zero_is_none=False):  # noqa: A002
    """A dataclass field with its flag's description in `metadata`.

    Args:
        default: the default value (also the flag's).
        help: the flag's help text.
        kind: the flag kind (see the module docstring); default: from `default`.
        choices: allowed values (an enum flag).
        flag: False for fields that are not set from the command line.
        zero_is_none: the flag's 0 means None (e.g. `--ema_decay=0`: no EMA).
    """
    factory = None
    if isinstance(default, (dict, list)):
        factory, default = (lambda value=default: type(value)(value)), dataclasses.MISSING
    metadata = dict(help=help, kind=kind, choices=choices, flag=flag,
                    zero_is_none=zero_is_none)
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _kind(value, declared):
    if declared:
        return declared
    if isinstance(value, bool):
        return "bool"
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind.__name__
    if isinstance(value, (list, tuple)):
        return "bools" if value and all(isinstance(v, bool) for v in value) else "ints"
    raise TypeError(f"Cannot infer the flag kind of {value!r}: pass kind=...")


def _define(name, kind, default, help, choices, flag_values):  # noqa: A002
    kw = dict(flag_values=flag_values)
    if choices:
        return flags.DEFINE_enum(name, default, list(choices), help, **kw)
    if kind in ("ints", "bools"):
        default = None if default is None else [str(v).lower() for v in default]
        return flags.DEFINE_list(name, default, help, **kw)
    define = {"str": flags.DEFINE_string, "int": flags.DEFINE_integer,
              "float": flags.DEFINE_float, "bool": flags.DEFINE_boolean}[kind]
    return define(name, default, help, **kw)


def _parse(kind, value, name):
    if kind == "ints" and value is not None:
        try:
            return [int(v) for v in value]
        except ValueError:
            raise ValueError(f"`--{name}` takes comma-separated integers. "
                             f"Received: --{name}={','.join(value)}") from None
    if kind == "bools" and value is not None:
        words = {"true": True, "1": True, "false": False, "0": False}
        if any(v.lower() not in words for v in value):
            raise ValueError(f"`--{name}` takes comma-separated true/false values. "
                             f"Received: --{name}={','.join(value)}")
        return [words[v.lower()] for v in value]
    return value


def _flag_fields(cls):
    return [f for f in dataclasses.fields(cls) if f.metadata.get("flag")]


def define_flags(cls, flag_values=flags.FLAGS, skip=()):
    """Defines one flag per `setting` field of the dataclass `cls` (except `skip`)."""
    for field in _flag_fields(cls):
        if field.name in skip:
            continue
        default = (field.default_factory() if field.default is dataclasses.MISSING
                   and field.default_factory is not dataclasses.MISSING else field.default)
        if default is dataclasses.MISSING:
            default = None
        meta = field.metadata
        kind = _kind(default, meta["kind"])
        _define(field.name, kind, default, meta["help"], meta["choices"], flag_values)


def flag_values(cls, flag_values=flags.FLAGS, skip=()):  # pylint: disable=redefined-outer-name
    """{field: value} of the `cls` flags given on the command line (only those)."""
    values = {}
    for field in _flag_fields(cls):
        if field.name in skip or not flag_values[field.name].present:
            continue
        value = flag_values[field.name].value
        meta = field.metadata
        kind = _kind(value, meta["kind"]) if value is not None else meta["kind"]
        value = _parse(kind, value, field.name)
        if meta["zero_is_none"] and value == 0:
            value = None
        values[field.name] = value
    return values


def _network_keys(network):
    settings = presets.network_settings(presets.DEFAULT_PRESET, network, {})
    return {key: value for key, value in settings.items()
            if key in presets.NETWORK_SETTING_HELP and key != "resolution"}


def define_network_flags(flag_values=flags.FLAGS):
    """`--g_<key>` and `--d_<key>` for every network setting of the presets (default:
    the preset's value, so the flags default to None)."""
    for network, prefix in _NETWORK_PREFIXES.items():
        for key, value in _network_keys(network).items():
            kind = "int" if value is None else _kind(value, None)
            help_text = (f"{network.capitalize()}: {presets.NETWORK_SETTING_HELP[key]} "
                         "(default: the preset's).")
            _define(prefix + key, kind, None, help_text, None, flag_values)


def network_flag_values(flag_values=flags.FLAGS):  # pylint: disable=redefined-outer-name
    """{"generator_overrides": {...}, "discriminator_overrides": {...}} of the network
    flags given on the command line (only the networks and keys given)."""
    out = {}
    for network, prefix in _NETWORK_PREFIXES.items():
        overrides = {}
        for key, value in _network_keys(network).items():
            name = prefix + key
            if flag_values[name].present:
                kind = "int" if value is None else _kind(value, None)
                overrides[key] = _parse(kind, flag_values[name].value, name)
        if overrides:
            out[f"{network}_overrides"] = overrides
    return out


def one_line_flags_parser(program):
    """A `flags_parser` for `absl.app.run`: a flag value that does not parse ends the
    program with one line naming the flag (absl's own parser adds a help hint line)."""

    def parse(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            sys.exit(f"{program}: error: {e}")

    return parse


def run_program(main, program, key_flag_modules):
    """`absl.app.run(main)` for a console script named `program`.

    `--help`/`--helpshort` list the key flags of the script's own module (`sys.argv[0]`
    for a console script), so the key flags of `key_flag_modules` (module names: the
    program's main module) and of this module (the flags `define_flags` generated) are
    registered for it; a flag value that does not parse ends with one line
    (`one_line_flags_parser`).
    """
    for module in (*key_flag_modules, __name__):
        for flag in flags.FLAGS.get_key_flags_for_module(module):
            flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(main, flags_parser=one_line_flags_parser(program))
