// Package phone normalises the phone numbers that arrive from Paygee, ChatArchitect and the
// config file to one form, E.164 digits without the '+', which is how ChatArchitect writes them
// and how nudge stores and compares contacts.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is wrapped by every error Normalize returns, so that callers can treat an invalid
// number as a permanent failure with errors.Is.
var ErrInvalid = errors.New("invalid phone number")

// Normalize returns the number in E.164 digits without '+', e.g. "254712345678".
//
// defaultCountry is an ISO region like "KE" used for numbers written without a country code
// ("0712 345 678"); "" means the number must be international, with or without the '+'.
// Spaces and the punctuation people put in numbers (- . ( ) /) are ignored. An invalid number
// gives an error wrapping ErrInvalid that says why; it does not repeat the number, which is
// personal data.
func Normalize(raw, defaultCountry string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	plus := false
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\t':
		default:
			return "", fmt.Errorf("%w: unexpected character %q", ErrInvalid, rune(c))
		}
	}
	if len(digits) == 0 {
		return "", fmt.Errorf("%w: no digits", ErrInvalid)
	}
	if len(digits) < 5 { // shorter than any subscriber number with its country code
		return "", fmt.Errorf("%w: too short", ErrInvalid)
	}
	region := strings.ToUpper(strings.TrimSpace(defaultCountry))
	if region != "" && !ValidRegion(region) {
		return "", fmt.Errorf("%w: unknown default country %q", ErrInvalid, defaultCountry)
	}

	if plus {
		return parse("+"+string(digits), "")
	}
	// "00" is the international call prefix in most of the world: 00254712345678.
	if region == "" && len(digits) > 2 && digits[0] == '0' && digits[1] == '0' {
		return parse("+"+string(digits[2:]), "")
	}
	if region == "" {
		return parse("+"+string(digits), "")
	}
	national, err := parse(string(digits), region)
	if err == nil {
		return national, nil
	}
	// Digits that already carry a country code ("447911123456" with default KE) are
	// international numbers written without the '+', and so are those dialled with the "00"
	// prefix. Any other leading 0 is a trunk prefix, so such numbers keep the national reason.
	var intl string
	switch {
	case len(digits) > 10 && digits[0] == '0' && digits[1] == '0':
		intl = "+" + string(digits[2:])
	case digits[0] != '0' && len(digits) >= 8:
		intl = "+" + string(digits)
	}
	if intl != "" {
		if n, err2 := parse(intl, ""); err2 == nil {
			return n, nil
		}
	}
	return "", err
}

// parse parses and validates one candidate reading of the number.
func parse(s, region string) (string, error) {
	if region == "" {
		region = "ZZ" // unknown region: the number must carry its country code
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrInvalid, parseReason(err))
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%w: %s", ErrInvalid, invalidReason(num))
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), nil
}

func parseReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "no valid country code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	case errors.Is(err, phonenumbers.ErrNotANumber):
		return "not a phone number"
	default:
		return err.Error()
	}
}

func invalidReason(num *phonenumbers.PhoneNumber) string {
	region := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return fmt.Sprintf("unknown country code %d", num.GetCountryCode())
	case phonenumbers.TOO_SHORT:
		return fmt.Sprintf("too short for %s", region)
	case phonenumbers.TOO_LONG:
		return fmt.Sprintf("too long for %s", region)
	case phonenumbers.INVALID_LENGTH:
		return fmt.Sprintf("wrong length for %s", region)
	default:
		return fmt.Sprintf("not a valid number in %s", region)
	}
}

// ValidRegion reports whether the ISO region code is known (for config checks). Case is
// ignored: "ke" and "KE" are the same region.
func ValidRegion(region string) bool {
	if region == "" {
		return false
	}
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(region)]
}

// Mask hides the middle of a phone for logs: "254712345678" → "2547****5678". Numbers of ten
// digits or more keep their first 4 and last 4; shorter ones keep only their last 2, and those
// of four or fewer are all stars.
func Mask(digits string) string {
	n := len(digits)
	switch {
	case n >= 10:
		return digits[:4] + strings.Repeat("*", n-8) + digits[n-4:]
	case n > 4:
		return strings.Repeat("*", n-2) + digits[n-2:]
	default:
		return strings.Repeat("*", n)
	}
}
