//go:build race

package sentryexporter

// raceEnabled is true when the tests run under the race detector, which makes CPU-bound tests
// several times slower: workloads are smaller then (make test also runs them full size without it).
const raceEnabled = true
