package suggest

import "testing"

func TestSuggest(t *testing.T) {
	t.Parallel()
	known := []string{"url", "idField", "datesConfiguration", "filterByUpdatedDate", "filterByCurrentDate",
		"createdCheckTolerance", "pageSize", "pollDelay", "overlap", "deletes", "batchSize", "postHooks"}
	tests := []struct {
		key, want string
	}{
		{"filterByUpdateDate", "filterByUpdatedDate"},
		{"filterbyupdateddate", "filterByUpdatedDate"},
		{"idFeild", "idField"},
		{"URL", "url"},
		{"ur", "url"},
		{"pagesize", "pageSize"},
		{"page_size", "pageSize"},
		{"pollDelay2", "pollDelay"},
		{"overlaps", "overlap"},
		{"delete", "deletes"},
		{"datesConfig", ""},
		{"foo", ""},
		{"", ""},
		{"createdCheckTolerence", "createdCheckTolerance"},
	}
	for _, tt := range tests {
		got, ok := Closest(tt.key, known)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Closest(%q) = %q, %v; want %q", tt.key, got, ok, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"abc", "abc", 0}, {"abc", "acb", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, {"idfeild", "idfield", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, 10); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.a, tt.b, 2); got != min(tt.want, 2) {
			t.Errorf("editDistance(%q, %q, limit 2) = %d, want %d", tt.a, tt.b, got, min(tt.want, 2))
		}
	}
}
