package stacktrace

import (
	"testing"
)

func rubyCases() []parseCase {
	return []parseCase{
		{
			name:     "full_message with a cause, Ruby 3.4 quotes",
			language: "ruby",
			text: trace(
				"/app/app/services/checkout.rb:12:in 'Checkout#call': payment failed for order №42 (Checkout::PaymentError)",
				"\tfrom /app/app/controllers/orders_controller.rb:8:in 'OrdersController#create'",
				"\tfrom /usr/local/bundle/gems/actionpack-7.1.3/lib/action_controller/metal/basic_implicit_render.rb:6:in 'send_action'",
				"\tfrom /usr/local/lib/ruby/3.4.0/benchmark.rb:311:in 'Benchmark.realtime'",
				"/app/app/clients/stripe_client.rb:30:in 'StripeClient#charge': card declined (Stripe::CardError)",
				"\tfrom /app/app/services/checkout.rb:10:in 'Checkout#call'",
			),
			format: FormatRuby,
			want: []wantException{
				{
					typ: "Stripe::CardError", value: "card declined", frames: 2, source: "cause",
					first: &wantFrame{"Checkout#call", "", "/app/app/services/checkout.rb", 10, true},
					last:  &wantFrame{"StripeClient#charge", "", "/app/app/clients/stripe_client.rb", 30, true},
				},
				{
					typ: "Checkout::PaymentError", value: "payment failed for order №42", frames: 4,
					first: &wantFrame{"Benchmark.realtime", "", "/usr/local/lib/ruby/3.4.0/benchmark.rb", 311, false},
					last:  &wantFrame{"Checkout#call", "", "/app/app/services/checkout.rb", 12, true},
				},
			},
		},
		{
			name: "backtick quotes, multi-line message, relative paths",
			text: trace(
				"app/models/user.rb:10:in `full_name': undefined method `upcase' for nil:NilClass (NoMethodError)",
				"did you mean? upcase!",
				"\tfrom app/controllers/users_controller.rb:5:in `show'",
				"\tfrom <internal:kernel>:187:in `loop'",
				"\tfrom bin/rails:4:in `<main>'",
			),
			format: FormatRuby,
			want: []wantException{{
				typ: "NoMethodError", value: "undefined method `upcase' for nil:NilClass\ndid you mean? upcase!", frames: 4,
				first: &wantFrame{"<main>", "", "bin/rails", 4, true},
				last:  &wantFrame{"full_name", "", "app/models/user.rb", 10, true},
			}},
		},
	}
}

func TestParseRuby(t *testing.T) {
	t.Parallel()
	runCases(t, rubyCases())
}
