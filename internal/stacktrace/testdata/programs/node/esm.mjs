// ES module: file:// URLs in frames, and async frames through Promise.all.
class StockError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StockError';
  }
}

async function reserve(sku) {
  await null;
  if (sku === 'b') {
    throw new StockError(`out of stock: ${sku}`); // FRAME:js_reserve
  }
  return sku;
}

async function placeOrder(skus) {
  const reserved = await Promise.all(skus.map((s) => reserve(s))); // FRAME:js_place_order
  return reserved;
}

async function main() {
  await placeOrder(['a', 'b']); // FRAME:js_esm_main
}

main().catch((err) => {
  process.stdout.write(err.stack + '\n');
});
