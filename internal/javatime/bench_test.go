package javatime

import (
	"testing"
	"time"
)

// The Go* benchmarks are the stdlib baseline for the same layout, so the
// cost of Java semantics can be reported as a ratio.

var (
	benchTime    = time.Date(2024, 7, 4, 12, 8, 56, 235e6, time.UTC)
	benchText    = "2024-07-04 12:08:56"
	benchPattern = MustCompile("yyyy-MM-dd HH:mm:ss")
	benchSink    string
	benchTimeOut time.Time
)

const goLayout = "2006-01-02 15:04:05"

func BenchmarkFormat(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchSink = benchPattern.Format(benchTime)
	}
}

func BenchmarkGoFormat(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchSink = benchTime.Format(goLayout)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		t, err := benchPattern.Parse(benchText, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		benchTimeOut = t
	}
}

func BenchmarkGoParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		t, err := time.Parse(goLayout, benchText)
		if err != nil {
			b.Fatal(err)
		}
		benchTimeOut = t
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"); err != nil {
			b.Fatal(err)
		}
	}
}
