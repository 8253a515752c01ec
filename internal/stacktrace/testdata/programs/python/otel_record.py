"""What the OTel Python SDK records as exception.stacktrace (Span.record_exception)."""
import sys
import traceback


def record(exc):
    # opentelemetry-sdk's Span.record_exception: "".join(traceback.format_exception(type(exc), value=exc, tb=exc.__traceback__))
    sys.stdout.write("".join(traceback.format_exception(type(exc), value=exc, tb=exc.__traceback__)))
