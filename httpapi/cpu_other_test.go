//go:build !unix

package httpapi_test

import "time"

// processCPU is not measured here: the CPU ratios read NaN.
func processCPU() time.Duration { return 0 }
