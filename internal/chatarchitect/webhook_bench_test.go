package chatarchitect

import "testing"

func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, body string }{
		{"message", docMessageText},
		{"message-event", docEventDelivered},
	} {
		body := []byte(c.body)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
