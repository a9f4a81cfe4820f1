//go:build !unix

package embedded

// cpuTime is not measured here (benchmarks then report 0 cpu-ns/op).
func cpuTime() int64 { return 0 }
