package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		raw, country string
		want         string
		wantErr      string // substring of the error; "" means no error
	}{
		{"+254712345678", "", "254712345678", ""},
		{"+254 712 345 678", "KE", "254712345678", ""},
		{"254712345678", "", "254712345678", ""},
		{"254712345678", "KE", "254712345678", ""},
		{"0712 345 678", "KE", "254712345678", ""},
		{"0712-345-678", "ke", "254712345678", ""},
		{"(0712) 345.678", "KE", "254712345678", ""},
		{"712345678", "KE", "254712345678", ""},
		{"  +254700000001 ", "", "254700000001", ""},
		{"00254712345678", "", "254712345678", ""},
		{"00254712345678", "KE", "254712345678", ""},
		{"+44 7911 123456", "KE", "447911123456", ""},
		{"447911123456", "KE", "447911123456", ""},
		{"07911 123456", "GB", "447911123456", ""},
		{"0803 123 4567", "NG", "2348031234567", ""},
		{"+1 (415) 555-2671", "", "14155552671", ""},

		{"", "KE", "", "empty"},
		{"   ", "", "", "empty"},
		{"+", "", "", "no digits"},
		{"0712 345 678", "", "", "invalid phone number"},
		{"0712 345", "KE", "", "invalid phone number"},
		{"+2547123", "", "", "too short"},
		{"1", "KE", "", "too short"},
		{"+25 4", "", "", "too short"},
		{"+25471234567890123", "", "", "invalid phone number"},
		{"07123abc", "KE", "", `unexpected character 'a'`},
		{"+254 7+12", "", "", `unexpected character '+'`},
		{"0712345678", "XX", "", `unknown default country "XX"`},
		{"+999 123456789", "", "", "invalid phone number"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.raw, tt.country)
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("Normalize(%q, %q) = %q, want error containing %q", tt.raw, tt.country, got, tt.wantErr)
				continue
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Normalize(%q, %q) error = %q, want it to contain %q", tt.raw, tt.country, err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Normalize(%q, %q) error %q does not wrap ErrInvalid", tt.raw, tt.country, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Normalize(%q, %q) error: %v", tt.raw, tt.country, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Normalize(%q, %q) = %q, want %q", tt.raw, tt.country, got, tt.want)
		}
	}
}

func TestNormalizeErrorHidesNumber(t *testing.T) {
	_, err := Normalize("0712 34", "KE")
	if err == nil || strings.Contains(err.Error(), "712") {
		t.Fatalf("error = %v, want an error that does not repeat the number", err)
	}
}

func TestValidRegion(t *testing.T) {
	tests := []struct {
		region string
		want   bool
	}{
		{"KE", true}, {"ke", true}, {"NG", true}, {"US", true},
		{"", false}, {"XX", false}, {"ZZ", false}, {"KEN", false},
	}
	for _, tt := range tests {
		if got := ValidRegion(tt.region); got != tt.want {
			t.Errorf("ValidRegion(%q) = %v, want %v", tt.region, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"254712345678", "2547****5678"},
		{"2348031234567", "2348*****4567"},
		{"1415555267", "1415**5267"},
		{"12345678", "******78"},
		{"12345", "***45"},
		{"1234", "****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
