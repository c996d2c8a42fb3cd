// Go's buffered channel between two goroutines, the peer figure for
// bench/bench_chan.c's cross-thread channel (run by bench/runtime.sh with
// GOMAXPROCS=2).  Prints "go-chan-msgs-per-s N", the median of 5 runs.
// With the argument "pingpong": two goroutines passing a number back and
// forth over two unbuffered channels (run with GOMAXPROCS=1, as
// bench_chan's ping-pong runs on one thread); prints
// "go-pingpong-ns-per-handoff N", the median of 5 runs.  With "once": one
// run of the buffered channel ("go-chan-msgs-per-s N"), for runs
// alternated with bench_chan's.
package main

import (
	"fmt"
	"os"
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

const handoffs = 2000000

// ns per hand-off: a round trip is two.
func pingpong() float64 {
	ping, pong := make(chan int64), make(chan int64)
	go func() {
		for i := 0; i < handoffs/2; i++ {
			pong <- <-ping
		}
	}()
	start := time.Now()
	for i := int64(0); i < handoffs/2; i++ {
		ping <- i
		if <-pong != i {
			return 0
		}
	}
	return float64(time.Since(start).Nanoseconds()) / handoffs
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "pingpong" {
		ns := make([]float64, 5)
		for i := range ns {
			ns[i] = pingpong()
		}
		sort.Float64s(ns)
		fmt.Printf("go-pingpong-ns-per-handoff %.1f\n", ns[2])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "once" {
		fmt.Printf("go-chan-msgs-per-s %.0f\n", run())
		return
	}
	rates := make([]float64, 5)
	for i := range rates {
		rates[i] = run()
	}
	sort.Float64s(rates)
	fmt.Printf("go-chan-msgs-per-s %.0f\n", rates[2])
}
