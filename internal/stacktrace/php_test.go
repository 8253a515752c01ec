package stacktrace

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func phpCases() []parseCase {
	return []parseCase{
		{
			name:     "fatal error for an uncaught exception",
			language: "php",
			text: trace(
				"PHP Fatal error:  Uncaught RuntimeException: Payment failed in /var/www/app/src/Billing.php:42",
				"Stack trace:",
				"#0 /var/www/app/src/Checkout.php(17): App\\Billing->charge(Object(App\\Order), 'EUR')",
				"#1 /var/www/app/vendor/laravel/framework/src/Illuminate/Pipeline/Pipeline.php(183): App\\Checkout->run()",
				"#2 [internal function]: Illuminate\\Pipeline\\Pipeline->{closure:Illuminate\\Pipeline\\Pipeline::carry():168}(Object(Request))",
				"#3 /var/www/app/public/index.php(55): call_user_func(Object(Closure))",
				"#4 {main}",
				"  thrown in /var/www/app/src/Billing.php on line 42",
			),
			format: FormatPHP,
			want: []wantException{{
				typ: "RuntimeException", value: "Payment failed", frames: 5,
				first: &wantFrame{"{main}", "", "/var/www/app/public/index.php", 55, true},
				last:  &wantFrame{"App\\Billing::charge", "", "/var/www/app/src/Billing.php", 42, true},
			}},
		},
		{
			name:     "error log line with its timestamp, Fatal error without the PHP prefix",
			language: "php",
			text: trace(
				"[03-Dec-2026 06:48:32 UTC] PHP Fatal error:  Uncaught App\\Billing\\PaymentDeclined: card declined in /srv/src/Billing.php:22",
				"Stack trace:",
				"#0 [internal function]: App\\Billing\\CheckoutService->charge('x1')",
				"#1 /srv/src/Billing.php(12): array_map(Object(Closure), Array)",
				"#2 {main}",
				"  thrown in /srv/src/Billing.php on line 22",
			),
			format: FormatPHP,
			want: []wantException{{
				typ: "App\\Billing\\PaymentDeclined", value: "card declined", frames: 3,
				first: &wantFrame{"{main}", "", "/srv/src/Billing.php", 12, true},
				last:  &wantFrame{"App\\Billing\\CheckoutService::charge", "", "/srv/src/Billing.php", 22, true},
			}},
		},
		{
			name:     "OTel PHP SDK prints Java-style traces",
			language: "php",
			text: trace(
				"Exception: outer",
				"\tat Abc.Def.Test.create(test.php:11)",
				"\tat {main}(test.php:24)",
				"Caused by: Abc.Def.TestException: inner",
				"\t... 2 more",
			),
			format:   FormatPHP,
			detected: FormatJava,
			want: []wantException{
				{
					typ: "Abc\\Def\\TestException", value: "inner", frames: 2, source: "previous",
					first: &wantFrame{"{main}", "", "test.php", 24, true},
					last:  &wantFrame{"Abc\\Def\\Test::create", "", "test.php", 11, true},
				},
				{
					typ: "Exception", value: "outer", frames: 2,
					first: &wantFrame{"{main}", "", "test.php", 24, true},
					last:  &wantFrame{"Abc\\Def\\Test::create", "", "test.php", 11, true},
				},
			},
		},
		{
			name:     "OTel PHP SDK: PHP 8.4 closures, a closure outside a class, built-ins and vendor namespaces",
			language: "php",
			text: trace(
				"App.Billing.PaymentDeclined: declined",
				"\tat App.Billing.CheckoutService.{closure:App.Billing.CheckoutService::checkout():12}(CheckoutService.php:13)",
				"\tat {closure:/srv/src/routes.php:7}(routes.php:8)",
				"\tat array_map(Unknown Source)",
				"\tat Illuminate.Pipeline.Pipeline.handle(Pipeline.php:183)",
				"\tat {main}(index.php:5)",
			),
			format:   FormatPHP,
			detected: FormatJava,
			want: []wantException{{
				typ: "App\\Billing\\PaymentDeclined", value: "declined", frames: 5,
				first: &wantFrame{"{main}", "", "index.php", 5, true},
				last:  &wantFrame{"App\\Billing\\CheckoutService::{closure:App\\Billing\\CheckoutService::checkout():12}", "", "CheckoutService.php", 13, true},
			}},
		},
		{
			name: "previous exceptions printed with Next, message with the word in",
			text: trace(
				"PDOException: SQLSTATE[HY000] [2002] Connection refused in /srv/app/vendor/doctrine/dbal/src/Driver/PDO/Driver.php:28",
				"Stack trace:",
				"#0 /srv/app/src/Repo/Orders.php(31): Doctrine\\DBAL\\Driver\\PDO\\Driver->connect(Array)",
				"#1 {main}",
				"",
				"Next App\\Exception\\StorageException: failed in ünïcode store in /srv/app/src/Repo/Orders.php:33",
				"Stack trace:",
				"#0 /srv/app/public/index.php(9): App\\Repo\\Orders->find(42)",
				"#1 {main}",
			),
			format: FormatPHP,
			want: []wantException{
				{
					typ: "PDOException", value: "SQLSTATE[HY000] [2002] Connection refused", frames: 2, source: "previous",
					first: &wantFrame{"{main}", "", "/srv/app/src/Repo/Orders.php", 31, true},
					last:  &wantFrame{"Doctrine\\DBAL\\Driver\\PDO\\Driver::connect", "", "/srv/app/vendor/doctrine/dbal/src/Driver/PDO/Driver.php", 28, false},
				},
				{
					typ: "App\\Exception\\StorageException", value: "failed in ünïcode store", frames: 2,
					first: &wantFrame{"{main}", "", "/srv/app/public/index.php", 9, true},
					last:  &wantFrame{"App\\Repo\\Orders::find", "", "/srv/app/src/Repo/Orders.php", 33, true},
				},
			},
		},
	}
}

func TestParsePHP(t *testing.T) {
	t.Parallel()
	runCases(t, phpCases())
}

// TestParsePHPJavaFrames checks every frame of the OTel PHP SDK's Java-like text, not only the ends.
func TestParsePHPJavaFrames(t *testing.T) {
	t.Parallel()
	var text string
	for _, tc := range phpCases() {
		if strings.HasPrefix(tc.name, "OTel PHP SDK: PHP 8.4 closures") {
			text = tc.text
		}
	}
	require.NotEmpty(t, text)
	got := Parse("php", "", "", text)
	require.Len(t, got.Exceptions, 1)
	var frames []wantFrame
	for _, f := range got.Exceptions[0].Stacktrace.Frames {
		frames = append(frames, wantFrame{f.Function, f.Module, f.Filename, f.Lineno, f.InApp})
	}
	assert.Equal(t, []wantFrame{
		{"{main}", "", "index.php", 5, true},
		{"Illuminate\\Pipeline\\Pipeline::handle", "", "Pipeline.php", 183, false},
		{"array_map", "", "", 0, false},
		{"{closure:/srv/src/routes.php:7}", "", "routes.php", 8, true},
		{"App\\Billing\\CheckoutService::{closure:App\\Billing\\CheckoutService::checkout():12}", "", "CheckoutService.php", 13, true},
	}, frames)
}
