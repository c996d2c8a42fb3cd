// Go's buffered channel between two goroutines, the peer figure for
// bench/bench_chan.c's cross-thread channel (run by bench/runtime.sh with
// GOMAXPROCS=2).  Prints "go-chan-msgs-per-s N", the median of 5 runs.
package main

import (
	"fmt"
	"sort"
	"time"
)

const messages = 4000000
const capacity = 1024

func run() float64 {
	c := make(chan int64, capacity)
	done := make(chan int64)
	start := time.Now()
	go func() {
		var sum int64
		for i := 0; i < messages; i++ {
			sum += <-c
		}
		done <- sum
	}()
	for i := int64(0); i < messages; i++ {
		c <- i
	}
	sum := <-done
	secs := time.Since(start).Seconds()
	if sum != int64(messages)*(messages-1)/2 {
		return 0
	}
	return messages / secs
}

func main() {
	rates := make([]float64, 5)
	for i := range rates {
		rates[i] = run()
	}
	sort.Float64s(rates)
	fmt.Printf("go-chan-msgs-per-s %.0f\n", rates[2])
}
