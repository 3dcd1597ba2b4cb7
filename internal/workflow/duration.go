package workflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a Go duration ("24h", "30m", "1h30m") or days ("2d", "1.5d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want e.g. 30m, 24h or 2d", s)
		}
		return d, nil
	}
	n, err := strconv.ParseFloat(days, 64)
	if err != nil || !isDecimal(days) || n > 100000 || n < -100000 {
		return 0, fmt.Errorf("bad duration %q: want e.g. 30m, 24h or 2d", s)
	}
	d := time.Duration(n * float64(24*time.Hour))
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("bad duration %q: want e.g. 30m, 24h or 2d", s)
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want e.g. 30m, 24h or 2d", s)
		}
		if n < 0 || strings.HasPrefix(days, "-") {
			r = -r
		}
		d += r
	}
	return d, nil
}
