package javatime

import "fmt"

// epochMillisPattern is the pseudo-pattern Cloud Elements uses for "epoch
// milliseconds as a decimal integer"; it is matched only as a whole pattern.
const epochMillisPattern = "milliseconds"

// Pattern is a compiled SimpleDateFormat pattern. Compiling once and reusing
// the Pattern keeps per-record formatting and parsing free of pattern
// scanning; a Pattern is immutable and safe for concurrent use.
type Pattern struct {
	src         string
	items       []item
	epochMillis bool

	// What Format must compute, so simple patterns skip the expensive parts.
	needDate, needClock, needZone, needYearDay bool
}

// item is one pattern field (letter != 0) or a run of literal text.
type item struct {
	letter byte
	// num caches isNumeric, the hottest question Parse asks.
	num bool
	// obey is Java's "obeyCount": the next item is also numeric, so this
	// field may read at most count characters ("yyyyMMdd").
	obey  bool
	count int
	lit   string
}

// isNumeric reports whether the field is parsed as a number, which is what
// Java's adjacent-field rule keys on.
func (it *item) isNumeric() bool {
	switch it.letter {
	case 'M', 'L':
		return it.count <= 2
	case 'y', 'd', 'H', 'k', 'K', 'h', 'm', 's', 'S', 'D', 'u':
		return true
	}
	return false
}

// Compile parses a Java SimpleDateFormat pattern once so that Format and
// Parse never rescan it; errors name the offending letter and its byte
// offset, mirroring the IllegalArgumentException Java throws.
func Compile(pattern string) (*Pattern, error) {
	if pattern == epochMillisPattern {
		return &Pattern{src: pattern, epochMillis: true}, nil
	}
	items, err := tokenize(pattern)
	if err != nil {
		return nil, err
	}
	p := &Pattern{src: pattern, items: items}
	for i := range p.items {
		p.items[i].num = p.items[i].isNumeric()
	}
	for i := range p.items {
		it := &p.items[i]
		if i+1 < len(p.items) && it.num && p.items[i+1].num {
			it.obey = true
		}
		switch it.letter {
		case 'G', 'y', 'M', 'L', 'd', 'E', 'u':
			p.needDate = true
		case 'D':
			p.needYearDay = true
		case 'H', 'k', 'K', 'h', 'm', 's', 'a':
			p.needClock = true
		case 'z', 'Z', 'X':
			p.needZone = true
		}
	}
	return p, nil
}

// MustCompile is Compile for patterns fixed at build time, where a bad
// pattern is a programming error rather than user input.
func MustCompile(pattern string) *Pattern {
	p, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as written, so a Pattern can be logged or
// re-serialised into configuration unchanged.
func (p *Pattern) String() string { return p.src }

// compileError builds the error Compile returns; one format keeps messages
// greppable.
func compileError(pattern string, offset int, format string, args ...any) error {
	return fmt.Errorf("compile %q: %s at offset %d", pattern, fmt.Sprintf(format, args...), offset)
}
