package stacktrace

import (
	"testing"
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
				typ: "RuntimeException", value: "Payment failed", frames: 4,
				first: &wantFrame{"{main}", "", "/var/www/app/public/index.php", 55, true},
				last:  &wantFrame{"App\\Billing->charge", "", "/var/www/app/src/Billing.php", 42, true},
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
					last:  &wantFrame{"Doctrine\\DBAL\\Driver\\PDO\\Driver->connect", "", "/srv/app/vendor/doctrine/dbal/src/Driver/PDO/Driver.php", 28, false},
				},
				{
					typ: "App\\Exception\\StorageException", value: "failed in ünïcode store", frames: 2,
					first: &wantFrame{"{main}", "", "/srv/app/public/index.php", 9, true},
					last:  &wantFrame{"App\\Repo\\Orders->find", "", "/srv/app/src/Repo/Orders.php", 33, true},
				},
			},
		},
	}
}

func TestParsePHP(t *testing.T) {
	t.Parallel()
	runCases(t, phpCases())
}
