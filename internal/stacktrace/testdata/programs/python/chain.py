"""A __cause__ and a __context__ chain through the standard library's json module."""
import json

from otel_record import record


class ConfigError(Exception):
    pass


def load(raw):
    try:
        return json.loads(raw)  # FRAME:py_load_json
    except json.JSONDecodeError as exc:
        raise ConfigError(f"bad config {raw!r}") from exc  # FRAME:py_load_raise


def report():
    reporters = {}
    return reporters["default"]  # FRAME:py_report


def main():
    try:
        load("{oops")  # FRAME:py_main_load
    except ConfigError:
        report()  # FRAME:py_main_report


try:
    main()  # FRAME:py_module_main
except Exception as exc:
    record(exc)
