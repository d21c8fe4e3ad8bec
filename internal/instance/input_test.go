package instance

import (
	"regexp"
	"strings"
	"testing"
)

// tagOpener is a '<' that an HTML parser would read as the start of a tag,
// an end tag, a comment or a processing instruction.
var tagOpener = regexp.MustCompile(`<[A-Za-z/!?]`)

func TestSanitize(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"Alpha <b>CRM</b>", "Alpha CRM"},
		{`<a href="https://x">churros-xss</a>`, "churros-xss"},
		{"Tom &amp; Jerry", "Tom & Jerry"},
		{"  padded  ", "padded"},
		// Entities that decode to a tag: the tag goes too.
		{"&lt;img src=x onerror=alert(1)&gt;", ""},
		{"a&lt;script&gt;alert(1)&lt;/script&gt;b", "aalert(1)b"},
		{"&amp;lt;script&amp;gt;x", "x"},
		{"&amp;amp;lt;script&amp;amp;gt;x", "x"},
		{"&#60;script&#62;x", "x"},
		{"&#x3c;script&#x3e;x", "x"},
		{"&#X3C;svg onload=alert(1)&#X3E;x", "x"},
		{"&lt;b>x", "x"},
		{"&lt x", "< x"},
		// Nested and broken markup.
		{"<<b>script>alert(1)<</b>/script>", "script>alert(1)/script>"},
		{"<scr<script>ipt>alert(1)", "ipt>alert(1)"},
		{"x <img src=x onerror=alert(1)", "x img src=x onerror=alert(1)"},
		{"x &lt;img src=x onerror=alert(1)", "x img src=x onerror=alert(1)"},
		{"<<<<a", "a"},
		{"</", "/"},
		{"a <!-- comment --> b", "a  b"},
		{"a &lt;!-- comment --&gt; b", "a  b"},
		{"a <!-- unclosed", "a !-- unclosed"},
		{"<?php echo 1 ?>x", "x"},
		{"a <? b", "a ? b"},
		{"&lt;lt;b&gt;", ""},
		{"&lta", "a"},
		// A '<' that opens nothing is text and stays.
		{"a < b", "a < b"},
		{"1<2", "1<2"},
		{"x <= y", "x <= y"},
		{"I <3 CRM", "I <3 CRM"},
		{"a << b", "a << b"},
		{"a &lt; b", "a < b"},
		{"<ä", "<ä"},
		// Nesting deeper than sanitizeRounds: every '<' and '&' goes.
		{"&" + strings.Repeat("amp;", 20) + "lt;b&gt;x &lt; y", "amp;amp;amp;amp;lt;b>x  y"},
	}
	for _, tc := range cases {
		got := sanitize(tc.in)
		if got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		checkSanitized(t, tc.in, got)
	}
}

func checkSanitized(t *testing.T, in, got string) {
	t.Helper()
	if loc := tagOpener.FindStringIndex(got); loc != nil {
		t.Errorf("sanitize(%q) = %q: markup remains at %d", in, got, loc[0])
	}
	if again := sanitize(got); again != got {
		t.Errorf("sanitize(%q) = %q, but sanitize of that is %q: not a fixpoint", in, got, again)
	}
	if strings.TrimSpace(got) != got {
		t.Errorf("sanitize(%q) = %q: not trimmed", in, got)
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{
		"Alpha <b>CRM</b>", "&lt;img src=x onerror=alert(1)&gt;", "<<b>script>", "&amp;lt;script&amp;gt;",
		"&#60;script&#62;", "&#x3c;script&#x3e;", "<img src=x onerror=alert(1)", "<!-- x -->", "a < b",
		"&lt;lt;b&gt;", "&lta", "&amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;amp;lt;b&gt;",
		"<<<<a", "&l<b>t;x", "&#<i>60;x", "\xff<\xfe", "&nGt;&NotNestedLessLess;x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSanitized(t, in, sanitize(in))
	})
}
