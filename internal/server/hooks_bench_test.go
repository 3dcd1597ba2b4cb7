package server

import "testing"

// A days_late body as Paygee sends it (SPEC §2).
var benchPaygeeBody = []byte(`{"id": "evt_8f2c", "state": "days_late", "previous_state": "late",
 "timestamp": "2026-12-01T06:00:00Z",
 "payload": {"loan_id": "L-1042", "customer_id": "C-311", "days_late": 5,
             "customer_name": "Amina Otieno", "customer_phone": "0712 345 678",
             "agent_name": "Peter", "agent_phone": "+254700000001",
             "balance": 1500, "currency": "KES", "language": "sw"}}`)

func BenchmarkParsePaygeeEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPaygeeBody)))
	for b.Loop() {
		if _, _, err := ParsePaygeeEvent(benchPaygeeBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidSignature(b *testing.B) {
	sig := Sign(benchPaygeeBody, "signing-secret")
	b.ReportAllocs()
	for b.Loop() {
		if !validSignature(benchPaygeeBody, sig, "signing-secret") {
			b.Fatal("signature refused")
		}
	}
}
