//go:build race

package eventjson

// raceEnabled tells allocation tests that the race detector's instrumentation allocates.
const raceEnabled = true
