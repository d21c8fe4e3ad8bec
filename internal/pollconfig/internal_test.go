package pollconfig

import "testing"

func TestUnescape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"a b", "a b"},
		{"a+b", "a b"},
		{"%27x%27", "'x'"},
		{"%3d%3D", "=="},
		{"'%smith%'", "'%smith%'"},
		{"100%", "100%"},
		{"%4", "%4"},
		{"%41%", "A%"},
		{"%zz%41", "%zzA"},
	}
	for _, tt := range tests {
		if got := unescape(tt.in); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
