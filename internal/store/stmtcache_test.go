package store

import "testing"

func TestCacheable(t *testing.T) {
	cases := []struct {
		q    string
		want bool
	}{
		{"SELECT 1", true},
		{"SELECT 1;", true},
		{"SELECT 1;\n  -- trailing comment\n", true},
		{"-- a; comment\nSELECT 1", true},
		{"SELECT ';' AS x", true},
		{`SELECT "a;b" FROM t`, true},
		{"/* x; y */ SELECT 1", true},
		{"CREATE TABLE a (x int); CREATE TABLE b (y int);", false},
		{"ALTER TABLE t ADD c int;\nALTER TABLE t ADD d int", false},
		{"SELECT 1; -- done\nSELECT 2", false},
	}
	for _, c := range cases {
		if got := cacheable(c.q); got != c.want {
			t.Errorf("cacheable(%q) = %v, want %v", c.q, got, c.want)
		}
	}
}
