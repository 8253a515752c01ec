// Package durations checks configured durations against a sane floor.
//
// The collector reads a bare number as nanoseconds: `wait: 5` is 5ns, which is accepted as a
// duration but silently turns a quiet period, a timeout or a retry interval into nothing. A floor
// catches that at startup, and the error suggests the unit the user most likely meant.
package durations

import (
	"fmt"
	"strconv"
	"time"
)

// AtLeast reports d when it is positive but shorter than floor, naming key; zero and negative values
// are left to the setting's own rules (often "off" or "must be positive").
func AtLeast(key string, d, floor time.Duration) error {
	if d <= 0 || d >= floor {
		return nil
	}
	if d < time.Microsecond {
		// A bare number: almost certainly seconds were meant.
		return fmt.Errorf("%s %s: shorter than %s; did you mean %ss?", key, d, floor, strconv.FormatInt(int64(d), 10))
	}
	return fmt.Errorf("%s %s: shorter than %s", key, d, floor)
}
