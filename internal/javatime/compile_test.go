package javatime

import (
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, want string
	}{
		{"yyyy-MM-ddTHH:mm", `compile "yyyy-MM-ddTHH:mm": illegal pattern character 'T' at offset 10`},
		{"b", "illegal pattern character 'b' at offset 0"},
		{"c", "illegal pattern character 'c' at offset 0"},
		{"yyyy-MM-dd HH:mm:ss.fff", "illegal pattern character 'f' at offset 20"},
		{"Milliseconds", "illegal pattern character 'i' at offset 1"},
		{"milliseconds ", "illegal pattern character 'i' at offset 1"},
		{"'abc", "unterminated quote at offset 0"},
		{"yyyy 'at", "unterminated quote at offset 5"},
		{"'''", "unterminated quote at offset 2"},
		{"'it''s", "unterminated quote at offset 0"},
		{"XXXX", "invalid ISO 8601 format: length=4 at offset 0"},
		{"HH:mm XXXXX", "invalid ISO 8601 format: length=5 at offset 6"},
		{"YYYY-'W'ww-u", "unsupported pattern letter 'Y' (week year) at offset 0"},
		{"yyyy-'W'ww", "unsupported pattern letter 'w' (week in year) at offset 8"},
		{"W", "unsupported pattern letter 'W' (week in month) at offset 0"},
		{"F", "unsupported pattern letter 'F' (day of week in month) at offset 0"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.pattern)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want error", tt.pattern, p)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile(%q) error = %q, want it to contain %q", tt.pattern, err, tt.want)
			}
		})
	}
}

// TestCompileLetters checks every ASCII letter against Java's alphabet:
// letters Java does not define are illegal, letters it defines either work
// or are clearly reported as unsupported.
func TestCompileLetters(t *testing.T) {
	t.Parallel()
	for c := byte('A'); c <= 'z'; c++ {
		if !isASCIILetter(c) {
			continue
		}
		_, err := Compile(string(c))
		switch {
		case !strings.ContainsRune(javaLetters, rune(c)):
			if err == nil || !strings.Contains(err.Error(), "illegal pattern character '"+string(c)+"'") {
				t.Errorf("Compile(%q) error = %v, want illegal pattern character", c, err)
			}
		case unsupported[c] != "":
			if err == nil || !strings.Contains(err.Error(), "unsupported pattern letter") {
				t.Errorf("Compile(%q) error = %v, want unsupported", c, err)
			}
		case err != nil:
			t.Errorf("Compile(%q): %v", c, err)
		}
	}
}

func TestCompileLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		want    []item
	}{
		{"'T'", []item{{lit: "T"}}},
		{"''", []item{{lit: "'"}}},
		{"'o''clock'", []item{{lit: "o'clock"}}},
		{"'a''''b'", []item{{lit: "a''b"}}},
		{"''''", []item{{lit: "''"}}},
		{"'abc''def'", []item{{lit: "abc'def"}}},
		{"-: ./,", []item{{lit: "-: ./,"}}},
		{"é€", []item{{lit: "é€"}}},
		{"''yy", []item{{lit: "'"}, {letter: 'y', count: 2}}},
		{"yyyyMMdd", []item{{letter: 'y', count: 4, obey: true}, {letter: 'M', count: 2, obey: true}, {letter: 'd', count: 2}}},
		{"MMMdd", []item{{letter: 'M', count: 3}, {letter: 'd', count: 2}}},
		{"dd'x'MM", []item{{letter: 'd', count: 2}, {lit: "x"}, {letter: 'M', count: 2}}},
		{"HH''mm", []item{{letter: 'H', count: 2}, {lit: "'"}, {letter: 'm', count: 2}}},
		{"''''''", []item{{lit: "'''"}}},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.pattern, err)
			continue
		}
		if len(p.items) != len(tt.want) {
			t.Errorf("Compile(%q) items = %+v, want %+v", tt.pattern, p.items, tt.want)
			continue
		}
		for i := range tt.want {
			got := p.items[i]
			got.num = false // derived from letter and count; not what this test is about
			if got != tt.want[i] {
				t.Errorf("Compile(%q) items = %+v, want %+v", tt.pattern, p.items, tt.want)
				break
			}
		}
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "yyyy-MM-dd'T'HH:mm:ss'Z'", "milliseconds", "'o''clock'"} {
		if got := MustCompile(s).String(); got != s {
			t.Errorf("String() = %q, want %q", got, s)
		}
	}
}

func TestMustCompilePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("MustCompile of a bad pattern did not panic")
		}
	}()
	MustCompile("yyyy-MM-ddTHH")
}
