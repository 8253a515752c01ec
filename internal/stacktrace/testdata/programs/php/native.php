<?php
// PHP's own output for an uncaught exception (Throwable::__toString() in "PHP Fatal error:  Uncaught ..."),
// as written to the error log with its timestamp.
require __DIR__ . '/Billing.php';

(new App\Billing\CheckoutService())->checkout(['12', 'x1']); // FRAME:php_native_main
