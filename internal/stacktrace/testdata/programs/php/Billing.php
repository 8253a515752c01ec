<?php
// Shared by the PHP samples: a namespaced class whose closure, run by array_map (an internal function),
// throws with a previous exception.
namespace App\Billing;

class PaymentDeclined extends \RuntimeException {}

class CheckoutService
{
    public function checkout(array $amounts): array
    {
        return array_map(function (string $raw): int { // FRAME:php_checkout_map
            return $this->charge($raw); // FRAME:php_closure_charge
        }, $amounts);
    }

    private function charge(string $raw): int
    {
        try {
            return $this->parse($raw); // FRAME:php_charge_parse
        } catch (\InvalidArgumentException $e) {
            throw new PaymentDeclined("amount rejected: $raw", 402, $e); // FRAME:php_charge_throw
        }
    }

    private function parse(string $raw): int
    {
        if (!is_numeric($raw)) {
            throw new \InvalidArgumentException("not a number: $raw"); // FRAME:php_parse_throw
        }
        return (int) $raw;
    }
}
