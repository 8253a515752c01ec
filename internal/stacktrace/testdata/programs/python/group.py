"""Exception groups: asyncio.TaskGroup (ordinary code makes them) and a nested group raised from a cause."""
import asyncio
import sys

from otel_record import record


async def charge(order):
    await asyncio.sleep(0)  # FRAME:py_charge_sleep
    raise ValueError(f"card declined for order {order}")  # FRAME:py_charge


async def ship(order):
    await asyncio.sleep(0)
    raise LookupError(f"no address for order {order}")  # FRAME:py_ship


async def checkout():
    async with asyncio.TaskGroup() as tg:  # FRAME:py_taskgroup
        tg.create_task(charge(7))
        tg.create_task(ship(7))


def validate(items):
    try:
        raise KeyError("sku")  # FRAME:py_validate_key
    except KeyError as exc:
        errors = [ValueError("quantity must be positive"), ExceptionGroup("price", [TypeError("price is not a number")])]
        raise ExceptionGroup("invalid cart", errors) from exc  # FRAME:py_validate_group


def refund(order):
    try:
        int(order)  # FRAME:py_refund_int
    except ValueError as exc:
        raise RuntimeError(f"refund failed for {order!r}") from exc  # FRAME:py_refund_raise


def refund_all(orders):
    errors = []
    for order in orders:
        try:
            refund(order)  # FRAME:py_refund_call
        except RuntimeError as exc:
            errors.append(exc)
    try:
        raise ExceptionGroup("refunds failed", errors)  # FRAME:py_refund_group
    finally:
        audit = None
        audit.write("refunds")  # FRAME:py_audit


scenario = sys.argv[1]
try:
    if scenario == "taskgroup":
        asyncio.run(checkout())  # FRAME:py_asyncio_run
    elif scenario == "context":
        refund_all(["a1", "b2"])  # FRAME:py_refund_all
    elif scenario == "wide":
        raise ExceptionGroup("many", [KeyError(i) for i in range(17)])  # FRAME:py_wide
    else:
        validate([])  # FRAME:py_validate_call
except BaseException as exc:
    record(exc)
