// What the OTel .NET SDK records as exception.stacktrace: Activity.AddException / RecordException store
// Exception.ToString() (invariant culture), which prints inner exceptions and, on Mono, IL offsets.
using System;
using System.Linq;
using System.Threading.Tasks;

namespace Example.Shop
{
    public class PaymentDeclinedException : Exception
    {
        public PaymentDeclinedException(string message, Exception inner) : base(message, inner) { }
    }

    public class Gateway
    {
        public int Parse(string raw)
        {
            return int.Parse(raw); // FRAME:cs_parse
        }

        public int Charge(string raw)
        {
            try
            {
                return Parse(raw); // FRAME:cs_charge_parse
            }
            catch (FormatException e)
            {
                throw new PaymentDeclinedException("amount rejected: " + raw, e); // FRAME:cs_charge_throw
            }
        }

        public async Task<int> ChargeAsync(string raw)
        {
            await Task.Yield();
            return Charge(raw); // FRAME:cs_charge_async
        }
    }

    public static class Program
    {
        static int Checkout(Gateway g, string[] amounts)
        {
            return amounts.Select(a => g.Charge(a)).Sum(); // FRAME:cs_checkout_lambda
        }

        static async Task<int> CheckoutAsync(Gateway g, string raw)
        {
            return await g.ChargeAsync(raw); // FRAME:cs_checkout_async
        }

        public static void Main(string[] args)
        {
            try
            {
                if (args[0] == "sync")
                {
                    Checkout(new Gateway(), new[] { "12", "x1" }); // FRAME:cs_main_sync
                }
                else if (args[0] == "aggregate")
                {
                    var g = new Gateway();
                    Task.WhenAll(g.ChargeAsync("x1"), g.ChargeAsync("x2")).Wait(); // FRAME:cs_main_aggregate
                }
                else
                {
                    CheckoutAsync(new Gateway(), "x1").GetAwaiter().GetResult(); // FRAME:cs_main_async
                }
            }
            catch (Exception e)
            {
                Console.Write(e.ToString());
                Console.WriteLine();
            }
        }
    }
}
