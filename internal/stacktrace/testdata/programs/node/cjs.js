// CommonJS: what the OTel JS SDK records as exception.stacktrace (span.recordException stores error.stack).
'use strict';
const path = require('node:path');

class PaymentDeclined extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'PaymentDeclined';
  }
}

function charge(order) {
  throw new PaymentDeclined(`card declined for order ${order.id}`); // FRAME:js_charge
}

function checkout(orders) {
  return orders.map((o) => charge(o)); // FRAME:js_checkout_map
}

try {
  checkout([{ id: 7 }]); // FRAME:js_cjs_main
} catch (err) {
  process.stdout.write(err.stack + '\n');
}
void path;
